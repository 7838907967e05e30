"""External meshes: OBJ+MTL+PNG from assets/, the YCB scene from ../shared (skipped when absent)."""

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl

REPO = Path(__file__).resolve().parents[2]


def test_textured_obj_from_assets_root(tmp_path, make_cfg):
    from simgen.run.job import render_dataset
    from simgen.scene.catalog import load_object
    from simgen.scene.spec import ObjectSpec

    m = load_object(ObjectSpec(category="crate", mesh="generated/crate.obj"), "k", REPO / "assets")
    assert m.texture is not None and m.uv is not None and m.texture.shape[2] == 3
    scene = tmp_path / "crates.yaml"
    scene.write_text("objects:\n  - {category: crate, mesh: generated/crate.obj, count: [2, 3]}\n")
    cfg = make_cfg(scene=str(scene), n_images=2, render__width=160, render__height=120)
    cfg.assets.root = str(REPO / "assets")
    render_dataset(cfg)
    coco = json.loads((Path(cfg.output_dir) / "annotations.json").read_text())
    assert coco["categories"] == [{"id": 1, "name": "crate", "supercategory": "object"}]
    assert len(coco["annotations"]) >= 2


def test_asset_path_may_not_escape_root(tmp_path):
    from simgen.errors import AssetError
    from simgen.scene.catalog import safe_asset_path

    with pytest.raises(AssetError, match="escapes assets.root"):
        safe_asset_path(tmp_path, "../../etc/passwd")
    with pytest.raises(AssetError, match="absolute"):
        safe_asset_path(tmp_path, "/etc/passwd")


def test_ycb_video_scene_renders_all_six_textured_objects(ycb_root, make_cfg):
    from simgen.run.job import render_dataset
    from simgen.run.worker import resolve_scene
    from simgen.scene.catalog import AssetCatalog

    cfg = make_cfg(scene="ycb_video", n_images=3, render__width=320, render__height=240)
    cfg.assets.root = str(ycb_root)
    spec = resolve_scene(cfg)
    cat = AssetCatalog.from_spec(spec, ycb_root, 256)
    assert all(cat[k].texture is not None for k in cat.object_keys)
    render_dataset(cfg)
    out = Path(cfg.output_dir)
    coco = json.loads((out / "annotations.json").read_text())
    real = json.loads((ycb_root.parent / "real/ycbv_dev/annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == [c["name"] for c in real["categories"]]
    assert coco["images"][0]["camera_K"][0][0] == pytest.approx(1066.778 / 2, rel=1e-4)  # scaled to 320 px
    assert len(coco["annotations"]) >= 3
