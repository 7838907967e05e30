"""End-to-end `simgen render` on the built-in default scene: COCO validity, determinism, resume, overwrite."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl


def _hashes(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".simgen" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from simgen.config import RenderAppConfig
    from simgen.run.job import render_dataset

    cfg = RenderAppConfig()
    cfg.output_dir = str(tmp_path_factory.mktemp("a") / "ds")
    cfg.n_images, cfg.shard_size = 6, 4
    cfg.render.width, cfg.render.height = 320, 240
    render_dataset(cfg)
    return cfg, Path(cfg.output_dir)


def test_layout_and_coco_rules(small_run):
    cfg, out = small_run
    for name in ("annotations.json", "manifest.json", "preview.png"):
        assert (out / name).is_file()
    coco = json.loads((out / "annotations.json").read_text())
    assert set(coco) >= {"info", "licenses", "images", "annotations", "categories"}
    assert [e["id"] for e in coco["images"]] == list(range(1, 7))
    assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))
    assert [c["id"] for c in coco["categories"]] == list(range(1, len(coco["categories"]) + 1))
    assert [c["name"] for c in coco["categories"]] == ["crate", "can", "ball", "ring", "cone", "pill"]
    for e in coco["images"]:
        assert (out / "images" / e["file_name"]).is_file()
        assert (e["width"], e["height"]) == (320, 240)
        assert (out / e["depth_file"]).is_file()
    ids_by_image = {}
    for a in coco["annotations"]:
        assert a["iscrowd"] == 0 and 0.1 <= a["visibility"] <= 1.0 and a["area"] > 0
        x, y, w, h = a["bbox"]
        assert x >= 0 and y >= 0 and x + w <= 320 and y + h <= 240
        assert isinstance(a["segmentation"], list) and all(len(p) >= 6 for p in a["segmentation"])
        ids_by_image.setdefault(a["image_id"], []).append(a["instance_map_id"])
    assert all(len(v) == len(set(v)) for v in ids_by_image.values())
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 0 and man["counts"]["images"] == 6 and "pyrender" in man["versions"]


def test_masks_match_the_instance_map_and_depth(small_run):
    """The exported mask of each annotation is exactly the instance's pixels (re-rendered alone by index)."""
    import cv2
    from pycocotools.coco import COCO

    cfg, out = small_run
    from simgen.run.worker import Generator

    coco = COCO(str(out / "annotations.json"))
    with Generator(cfg) as g:
        s = g.generate(2)  # sample index 2 -> image id 3, re-made alone
    img = cv2.cvtColor(cv2.imread(str(out / "images" / "000003.png")), cv2.COLOR_BGR2RGB)
    assert (img == s.rgb).all()
    for a in coco.loadAnns(coco.getAnnIds(imgIds=[3])):
        m = coco.annToMask(a).astype(bool)
        truth = s.instance_ids == a["instance_map_id"]
        assert m.sum() == truth.sum() == a["area"]
        assert (m == truth).all() or (m & ~truth).sum() <= 0.02 * truth.sum()  # polygons fill holes
    depth_mm = cv2.imread(str(out / "depth" / "000003.png"), cv2.IMREAD_UNCHANGED)
    assert depth_mm.dtype == np.uint16
    assert np.abs(depth_mm.astype(float) / 1000 - s.depth).max() <= 0.0006


def test_ground_truth_as_detections_gives_ap_one(small_run):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    _, out = small_run
    gt = COCO(str(out / "annotations.json"))
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0,
             "segmentation": gt.annToRLE(a)} for a in gt.dataset["annotations"]]
    for iou in ("bbox", "segm"):
        ev = COCOeval(gt, gt.loadRes([dict(d) for d in dets]), iou)
        ev.evaluate(); ev.accumulate(); ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0)


def test_same_seed_same_bytes_and_resume(small_run, tmp_path):
    from dataclasses import replace

    from simgen.run.job import render_dataset
    from simgen.run.shard import shard_path

    cfg, out = small_run
    cfg2 = replace(cfg, output_dir=str(tmp_path / "b"))
    render_dataset(cfg2)
    assert _hashes(out) == _hashes(Path(cfg2.output_dir))
    # simulate a run killed after the first shard: drop the later shard and the finished markers
    b = Path(cfg2.output_dir)
    for name in ("manifest.json", "annotations.json", "preview.png"):
        (b / name).unlink()
    shard_path(b, 1).unlink()
    (b / "images" / "000006.png").write_bytes(b"garbage from a killed write")
    res = render_dataset(cfg2)
    assert res["images"] == 6
    assert _hashes(out) == _hashes(b)


def test_other_seed_differs(small_run, tmp_path):
    from dataclasses import replace

    from simgen.run.job import render_dataset

    cfg, out = small_run
    c = replace(cfg, output_dir=str(tmp_path / "c"), seed=1, n_images=2)
    render_dataset(c)
    assert (Path(c.output_dir) / "images/000001.png").read_bytes() != (out / "images/000001.png").read_bytes()


def test_finished_dataset_not_overwritten(small_run):
    from dataclasses import replace

    from simgen.run.job import render_dataset
    from simgen.errors import OutputError

    cfg, out = small_run
    before = _hashes(out)
    with pytest.raises(OutputError, match="overwrite=true"):
        render_dataset(cfg)
    assert _hashes(out) == before


def _cli(*args, cwd=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SIMGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_cli_render_and_overwrite(tmp_path):
    out = tmp_path / "cli"
    args = ["render", "n_images=2", f"output_dir={out}", "render.width=160", "render.height=120"]
    r = _cli(*args)
    assert r.returncode == 0, r.stderr
    assert (out / "annotations.json").is_file()
    r = _cli(*args)
    assert r.returncode != 0 and "overwrite=true" in r.stderr and "Traceback" not in r.stderr
    r = _cli(*args, "overwrite=true", "seed=3")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


@pytest.mark.parametrize("override, expect", [
    ("no_such_key=1", "no_such_key"),
    ("n_images=lots", "n_images"),
    ("render.width=wide", "render.width"),
    ("scene=nope", "unknown scene 'nope'"),
    ("n_images=0", "n_images must be >= 1"),
])
def test_cli_bad_config_fails_clearly(tmp_path, override, expect):
    r = _cli("render", f"output_dir={tmp_path / 'o'}", override)
    assert r.returncode != 0
    assert expect in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "annotations.json").exists()


def test_cli_missing_mesh_fails_clearly(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text("objects:\n  - {category: thing, mesh: meshes/not_there.obj}\n")
    r = _cli("render", f"scene={scene}", f"assets.root={tmp_path}", f"output_dir={tmp_path / 'o'}", "n_images=1")
    assert r.returncode != 0
    assert "not_there.obj not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
