"""``simgen new-scene``: a folder of meshes -> a scene file that renders as written.

Folders are made here with trimesh (a millimetre BOP-style set with ``models_info.json``, plain folders in metres
and millimetres, a YCB-like layout); the shared YCB meshes are used when ../shared is present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- folders

def _bop_info(mesh) -> dict:
    lo, ext = mesh.bounds[0], mesh.extents
    return {"diameter": float(np.linalg.norm(ext)), "min_x": float(lo[0]), "min_y": float(lo[1]),
            "min_z": float(lo[2]), "size_x": float(ext[0]), "size_y": float(ext[1]), "size_z": float(ext[2])}


def make_bop_folder(root: Path, names: dict | None = None) -> Path:
    """A BOP-style model set in millimetres: obj_000001.ply (box 60 x 40 x 30 mm), obj_000002.ply (cylinder
    r 25 mm, h 80 mm), obj_000005.ply (box 120 x 20 x 20 mm), models_info.json."""
    import trimesh

    root.mkdir(parents=True, exist_ok=True)
    meshes = {1: trimesh.creation.box(extents=[60, 40, 30]),
              2: trimesh.creation.cylinder(radius=25, height=80, sections=32),
              5: trimesh.creation.box(extents=[120, 20, 20])}
    for oid, m in meshes.items():
        m.export(root / f"obj_{oid:06d}.ply")
    (root / "models_info.json").write_text(json.dumps({str(k): _bop_info(m) for k, m in meshes.items()}, indent=1))
    if names is not None:
        (root / "models_names.json").write_text(json.dumps(names))
    return root


@pytest.fixture
def bop_dir(tmp_path) -> Path:
    return make_bop_folder(tmp_path / "lm" / "models")


def _run(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("SIMGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def _view_fraction(ns, distance: float) -> float:
    """Fraction of the narrower field of view the largest object spans at ``distance``."""
    c = ns.scene["camera"]
    largest = max(float(m.extents.max()) for m in ns.meshes) * ns.scene["objects"][0]["scale"][0]
    return largest / (distance * min(c["width"] / c["fx"], c["height"] / c["fy"]))


# ---------------------------------------------------------------------- pure logic

def test_bop_millimetre_set_gets_its_ids_as_names_scale_and_camera(bop_dir):
    from simgen.scene.new_scene import build_scene
    from simgen.scene.spec import scene_from_dict

    ns = build_scene(bop_dir)
    assert ns.kind == "bop" and ns.unit == "mm"
    objs = ns.scene["objects"]
    assert [o["category"] for o in objs] == ["obj_000001", "obj_000002", "obj_000005"]
    assert [o["mesh"] for o in objs] == ["obj_000001.ply", "obj_000002.ply", "obj_000005.ply"]
    assert all(o["scale"] == [0.001, 0.001] for o in objs)
    assert any("millimetres" in n for n in ns.notes) and any("models_names.json" in n for n in ns.notes)
    d = ns.scene["camera"]["distance"]
    # the largest object (120 mm) spans 60% of the 480-pixel height at the nearest distance, 25% at the farthest
    assert _view_fraction(ns, d[0]) == pytest.approx(0.6, rel=0.01)
    assert _view_fraction(ns, d[1]) == pytest.approx(0.25, rel=0.01)
    assert ns.scene["camera"]["znear"] < d[0] and ns.scene["camera"]["zfar"] > d[1] + ns.scene["surface"]["size"][0]
    # masses as physics derives them: 500 kg/m^3 x hull volume (the box: 60 x 40 x 30 mm = 72 cm^3 -> 36 g)
    assert objs[0]["mass"] == pytest.approx(500 * 0.06 * 0.04 * 0.03, rel=1e-3)
    half = ns.scene["placement"]["half_extent"]
    c = ns.scene["camera"]
    view_mid = (d[0] + d[1]) / 2 * min(c["width"] / c["fx"], c["height"] / c["fy"])
    assert 0.09 <= half[0] <= 0.4 * view_mid + 1e-3  # at least 0.75 x the largest object, inside the view
    spec = scene_from_dict(ns.scene)
    assert spec.categories == ["obj_000001", "obj_000002", "obj_000005"]


def test_bop_names_file_names_the_categories(tmp_path):
    from simgen.scene.new_scene import build_scene

    root = make_bop_folder(tmp_path / "models", names={"1": "ape", "obj_000002": "can", "5": " "})
    ns = build_scene(root)
    assert [o["category"] for o in ns.scene["objects"]] == ["ape", "can", "obj_000005"]


def test_bop_set_missing_a_listed_model_is_refused(bop_dir):
    from simgen.errors import AssetError
    from simgen.scene.new_scene import build_scene

    (bop_dir / "obj_000002.ply").unlink()
    with pytest.raises(AssetError, match="object 2.*obj_000002.ply"):
        build_scene(bop_dir)


def test_plain_folder_categories_from_files_and_folders(tmp_path):
    """YCB layout -> class folder names; several files of one object -> one entry; same name in two folders ->
    told apart by their path; hidden folders skipped."""
    import trimesh

    from simgen.scene.new_scene import build_scene

    root = tmp_path / "parts"
    box = trimesh.creation.box(extents=[0.05, 0.04, 0.03])
    for rel in ["models/003_cracker_box/textured_simple.obj", "models/003_cracker_box/textured.obj",
                "models/011_banana/google_16k/textured.obj", "bolt.stl", "bolt.obj",
                "left/nut.ply", "right/nut.ply", ".cache/junk.obj"]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        box.export(p)
    ns = build_scene(root)
    got = {o["category"]: o["mesh"] for o in ns.scene["objects"]}
    assert got == {"003_cracker_box": "models/003_cracker_box/textured_simple.obj",
                   "011_banana": "models/011_banana/google_16k/textured.obj",
                   "bolt": "bolt.obj", "left_nut": "left/nut.ply", "right_nut": "right/nut.ply"}
    assert ns.unit == "m" and all(o["scale"] == [1.0, 1.0] for o in ns.scene["objects"])
    assert any("skipping models/003_cracker_box/textured.obj" in n for n in ns.notes)
    assert all(o["count"] == [0, 1] for o in ns.scene["objects"])  # five kinds: each present or not


@pytest.mark.parametrize("scale,units,expect", [(1.0, "auto", "m"), (1000.0, "auto", "mm"), (100.0, "cm", "cm")])
def test_units_detected_or_given(tmp_path, scale, units, expect):
    import trimesh

    from simgen.scene.new_scene import UNITS, build_scene

    root = tmp_path / "meshes"
    root.mkdir()
    trimesh.creation.box(extents=np.array([0.08, 0.05, 0.02]) * scale).export(root / "part.stl")
    ns = build_scene(root, units=units)
    assert ns.unit == expect
    o = ns.scene["objects"][0]
    assert o["scale"] == [UNITS[expect]] * 2 and o["count"] == [1, 3]
    assert ns.meshes[0].extents.max() * UNITS[expect] == pytest.approx(0.08)  # metres after the scale


def test_same_folder_gives_byte_identical_yaml_that_loads_back(bop_dir, tmp_path):
    from simgen.scene.new_scene import build_scene, scene_yaml
    from simgen.scene.spec import load_scene, scene_from_dict

    out = tmp_path / "s.yaml"
    a = scene_yaml(build_scene(bop_dir), out)
    b = scene_yaml(build_scene(bop_dir), out)
    assert a == b
    out.write_text(a)
    assert load_scene(out) == scene_from_dict(build_scene(bop_dir).scene)
    assert f"assets.root={bop_dir.resolve()}" in a and "millimetres" in a


def test_density_is_the_one_physics_uses():
    from simgen.physics import pybullet
    from simgen.scene import new_scene, spec

    assert new_scene.DENSITY is spec.DENSITY and pybullet.DENSITY is spec.DENSITY
    assert new_scene.MIN_MASS is spec.MIN_MASS and pybullet.MIN_MASS is spec.MIN_MASS


# ---------------------------------------------------------------------- the command

def test_cli_writes_refuses_to_overwrite_and_reports_bad_folders(bop_dir, tmp_path):
    out = tmp_path / "lm.yaml"
    r = _run("new-scene", str(bop_dir), f"output={out}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "millimetres" in r.stderr and f"simgen render scene={out} assets.root={bop_dir.resolve()}" in r.stderr
    first = out.read_bytes()
    r = _run("new-scene", str(bop_dir), f"output={out}", cwd=tmp_path)
    assert r.returncode == 2 and "overwrite=true" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _run("new-scene", str(bop_dir), f"output={out}", "overwrite=true", cwd=tmp_path)
    assert r.returncode == 0 and out.read_bytes() == first

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no meshes")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    for args, needle in [([str(empty)], "no meshes"), ([str(bad)], "broken.ply"),
                         ([str(tmp_path / "nope")], "does not exist"), ([str(bop_dir), "colour=red"], "unknown key"),
                         ([str(bop_dir), "units=furlong"], "units="), ([], "no mesh folder")]:
        r = _run("new-scene", *args, f"output={tmp_path / 'x.yaml'}", cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, r.stderr)
    assert not (tmp_path / "x.yaml").exists()


def _render(scene: Path, root: Path, out: Path, cwd: Path) -> dict:
    r = _run("render", f"scene={scene}", f"assets.root={root}", "render.width=160", "render.height=120",
             "n_images=2", "export.depth=false", f"output_dir={out}", cwd=cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "annotations.json").read_text())


@pytest.mark.gl
def test_bop_millimetre_scene_renders_with_labels(bop_dir, tmp_path):
    scene = tmp_path / "lm.yaml"
    assert _run("new-scene", str(bop_dir), f"output={scene}", cwd=tmp_path).returncode == 0
    coco = _render(scene, bop_dir, tmp_path / "out", tmp_path)
    assert [c["name"] for c in coco["categories"]] == ["obj_000001", "obj_000002", "obj_000005"]
    assert len(coco["images"]) == 2 and len(coco["annotations"]) >= 3  # counts [1, 2] each: 3 or more objects
    for a in coco["annotations"]:  # millimetre meshes at scale 0.001 appear at a sensible size
        assert 0 < a["bbox"][2] <= 160 and 0 < a["bbox"][3] <= 120
    assert max(max(a["bbox"][2], a["bbox"][3]) for a in coco["annotations"]) >= 12


@pytest.mark.gl
def test_ycb_scene_renders_with_labels(ycb_root, tmp_path):
    scene = tmp_path / "ycb.yaml"
    r = _run("new-scene", str(ycb_root), f"output={scene}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = scene.read_text()
    assert "category: 003_cracker_box, mesh: models/003_cracker_box/textured_simple.obj" in text
    coco = _render(scene, ycb_root, tmp_path / "out", tmp_path)
    names = {c["name"] for c in coco["categories"]}
    assert {"003_cracker_box", "005_tomato_soup_can"} <= names and not any("textured" in n for n in names)
    assert len(coco["annotations"]) >= 2
