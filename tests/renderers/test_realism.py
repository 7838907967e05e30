"""Photographic surfaces, panoramas, shadows and ambient occlusion: labels never change, bytes stay deterministic,
bad material files fail in one line before anything is written, and the contact term darkens where objects meet
the table. Material is made in tmp_path (two small photos, one synthetic HDR sky with a sun), so nothing here
needs ../shared."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> Path:
    import cv2

    root = tmp_path_factory.mktemp("material")
    (root / "surfaces").mkdir()
    (root / "panoramas").mkdir()
    rng = np.random.default_rng(0)
    for name in ("wood_test_planks", "tiles_test_grey"):
        img = (rng.random((128, 128, 3)) * 80 + 100).astype(np.uint8)
        img[::16] = 40  # plank/tile edges
        cv2.imwrite(str(root / "surfaces" / f"{name}.jpg"), img)
    H, W = 64, 128
    pano = np.zeros((H, W, 3), np.float32)
    pano[: H // 2] = (0.4, 0.5, 0.7)  # sky
    pano[H // 2:] = (0.25, 0.22, 0.2)  # ground
    pano[10:14, 30:34] = (400.0, 380.0, 340.0)  # a sun, high up
    cv2.imwrite(str(root / "panoramas" / "test_sky.hdr"), pano[..., ::-1])
    return root


REALISM = ["render.width=160", "render.height=120", "randomization.background.panorama_probability={dist:const,value:1.0}",
           "render.pyrender.shadows=on", "render.pyrender.ao=on"]


def test_ao_darkens_where_objects_meet_the_table_not_open_surfaces():
    from simgen.core.ao import ambient_occlusion
    from simgen.scene.model import Camera

    W, H = 160, 120
    cam = Camera(fx=150, fy=150, cx=80, cy=60, width=W, height=H, znear=0.05, zfar=10)
    depth = np.full((H, W), 1.0, np.float32)  # a wall-like plane 1 m ahead
    depth[40:80, 60:100] = 0.9  # a block standing 10 cm out of it
    vis = ambient_occlusion(depth, cam, radius=0.08, strength=2.0)
    assert vis.shape == (H, W) and vis.dtype == np.float32
    at_contact = vis[60, 56]  # on the plane, just beside the block
    far_away = vis[10, 10]
    on_top = vis[60, 80]  # the block's face
    assert at_contact < far_away - 0.02 and far_away > 0.97 and on_top > 0.95


@pytest.mark.gl
def test_shadows_and_ao_change_colour_not_labels(compose_cfg, material):
    from simgen.labels.amodal import label_frame
    from simgen.run.worker import Generator, sample_rng

    cfg = compose_cfg(f"assets.textures={material}", *REALISM)
    with Generator(cfg) as g:
        r = g.renderer
        for i in range(3):
            scene = g.make_scene(i, sample_rng(cfg.seed, i))
            assert scene.envmap is not None and scene.ambient_sh is not None  # lit by the panorama
            r.shadows = r.ao = "on"
            lit = r.render(scene)
            a = label_frame(r, scene, lit, 0.0, 1)
            r.shadows = r.ao = "off"
            flat = r.render(scene)
            b = label_frame(r, scene, flat, 0.0, 1)
            assert np.array_equal(lit.instance_ids, flat.instance_ids) and np.array_equal(lit.depth, flat.depth)
            assert [(x.instance_id, x.bbox_xywh, x.area, x.visibility) for x in a] == \
                   [(x.instance_id, x.bbox_xywh, x.area, x.visibility) for x in b]
            assert not np.array_equal(lit.rgb, flat.rgb)


@pytest.mark.gl
def test_every_realism_option_on_is_deterministic(compose_cfg, material, tmp_path):
    """Photos, panoramas (background + light), shadows, AO, photo clutter: the same bytes in another order, in a
    fresh Generator, and from the command line in another process."""
    from simgen.run.job import render_dataset
    from simgen.run.worker import Generator

    cfg = compose_cfg(f"assets.textures={material}", *REALISM, "n_images=4", "shard_size=2",
                      f"output_dir={tmp_path / 'a'}")
    with Generator(cfg) as g:
        first = {i: g.generate(i).rgb.tobytes() for i in (0, 1, 2)}
        again = {i: g.generate(i).rgb.tobytes() for i in (2, 0, 1)}
    with Generator(cfg) as g2:
        fresh = {i: g2.generate(i).rgb.tobytes() for i in (1,)}
    assert first == again and fresh[1] == first[1]
    render_dataset(cfg)
    cli = [sys.executable, "-m", "simgen.cli.main", "render", f"assets.textures={material}", *REALISM, "n_images=4",
           "shard_size=3", f"output_dir={tmp_path / 'b'}"]
    subprocess.run(cli, check=True, capture_output=True, timeout=300)
    for name in ("images/000001.png", "images/000004.png", "annotations.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.gl
@pytest.mark.parametrize("bad", ["texture", "panorama"])
def test_a_bad_material_file_fails_in_one_line_before_writing(material, tmp_path, bad):
    import shutil

    folder = tmp_path / "material"
    shutil.copytree(material, folder)
    if bad == "texture":
        (folder / "surfaces" / "wood_broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    else:
        (folder / "panoramas" / "broken.hdr").write_bytes(b"#?RADIANCE\nnot an image\n")
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", f"assets.textures={folder}",
                          "n_images=1", f"output_dir={out}"], capture_output=True, text=True, timeout=120)
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and "Traceback" not in res.stderr and last.startswith("simgen: error: ")
    assert ("wood_broken.jpg" if bad == "texture" else "broken.hdr") in last
    assert not out.exists()
