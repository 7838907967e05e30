"""export.format=yolo on a rendered dataset: the merge writes yolo/ next to the COCO set; boxes read back."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.gl


def test_merge_writes_yolo_that_reads_back_as_the_coco_boxes(reference, tmp_path):
    from simgen.config import ExportConfig
    from simgen.run.merge import merge
    from simgen.run.shard import plan_shards
    from simgen.export.yolo import read_yolo, yolo_to_coco_box

    ref_dir, _ = reference
    out = tmp_path / "ds"
    shutil.copytree(ref_dir, out)
    man = json.loads((out / "manifest.json").read_text())
    merge(out, plan_shards(8, 2), man["categories"], {k: v for k, v in man.items() if k != "counts"},
          ExportConfig(format="yolo", preview=False))
    coco = json.loads((out / "annotations.json").read_text())
    names, labels = read_yolo(out / "yolo")
    assert names == [c["name"] for c in coco["categories"]]
    assert len(labels) == 8
    for e in coco["images"]:
        rows = labels[f"train/{e['file_name'][:-4]}"]
        anns = [a for a in coco["annotations"] if a["image_id"] == e["id"]]
        assert len(rows) == len(anns)
        for (c, *box), a in zip(rows, anns):
            assert c == a["category_id"] - 1
            assert np.allclose(yolo_to_coco_box(box, e["width"], e["height"]), a["bbox"], atol=1e-3 * e["width"])
        img = out / "yolo" / "images" / "train" / e["file_name"]
        assert img.stat().st_ino == (out / "images" / e["file_name"]).stat().st_ino  # hardlinked, no copy


def test_unknown_export_format_fails_clearly(compose_cfg, tmp_path, tiny_overrides):
    from simgen.run.job import render_dataset
    from simgen.errors import ConfigError

    cfg = compose_cfg(tiny_overrides + [f"output_dir={tmp_path / 'x'}", "export.format=voc"])
    with pytest.raises(ConfigError, match="export.format"):
        render_dataset(cfg)
