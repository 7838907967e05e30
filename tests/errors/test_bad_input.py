"""Bad input, table-driven: every case fails fast with one line naming the problem and the fix, exit code != 0,
no traceback, and no dataset written (or nothing already written lost)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRATE = "generated/crate.obj"

GOOD_OBJ = "  - {category: box, shape: box, size: [0.1, 0.1, 0.1]}\n"


def scene(tmp: Path, body: str) -> str:
    p = tmp / "scene.yaml"
    p.write_text(body)
    return f"scene={p}"


def mesh_scene(tmp: Path, mesh_rel: str, extra: str = "") -> str:
    return scene(tmp, f"objects:\n  - {{category: thing, mesh: {mesh_rel}{extra}}}\n")


def _write(tmp: Path, name: str, data: bytes) -> str:
    (tmp / name).write_bytes(data)
    return name


# (case id, function tmp -> list of overrides, expected text in the error line)
CASES = [
    ("unknown key", lambda t: ["colour=red"], "unknown config key 'colour'"),
    ("wrong type", lambda t: ["n_images=many"], "bad value for 'n_images'"),
    ("zero images", lambda t: ["n_images=0"], "n_images must be >= 1"),
    ("negative workers", lambda t: ["workers=-1"], "workers must be >= 1"),
    ("zero resolution", lambda t: ["render.width=0"], "render.width must be >= 1"),
    ("unknown scene", lambda t: ["scene=castle"], "unknown scene 'castle'"),
    ("unknown segmentation", lambda t: ["labels.segmentation=mask"], "labels.segmentation: unknown value 'mask'; use one of polygon, rle"),
    ("negative count", lambda t: [scene(t, "objects:\n  - {category: a, shape: box, size: [.1,.1,.1], "
                                           "count: [-1, 2]}\n")], "count must be >= 0"),
    ("zero size", lambda t: [scene(t, "objects:\n  - {category: a, shape: box, size: [0, .1, .1]}\n")],
     "size must be > 0.0"),
    ("min > max", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "camera: {distance: [2.0, 1.0]}\n")],
     "min > max"),
    ("nan in range", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "camera: {distance: [.nan, 1.0]}\n")],
     "use finite numbers"),
    ("inf in range", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "lighting: {intensity: [1, .inf]}\n")],
     "use finite numbers"),
    ("unknown scene key", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "camera: {focal: 3}\n")], "focal"),
    ("wrong type in scene", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "camera: {fx: wide}\n")], "fx"),
    ("bad yaml", lambda t: [scene(t, "objects: [\n")], "not valid YAML"),
    ("zero objects", lambda t: [scene(t, "objects: []\n")], "no labelled objects"),
    ("duplicate categories", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + GOOD_OBJ)],
     "category 'box' appears in objects[0] and objects[1]"),
    ("unknown shape", lambda t: [scene(t, "objects:\n  - {category: a, shape: blob, size: [1]}\n")],
     "unknown shape 'blob'"),
    ("object bigger than view", lambda t: [scene(t, "objects:\n  - {category: a, shape: box, size: [5, 5, 5]}\n")],
     "larger than the camera's view"),
    ("mesh missing", lambda t: [mesh_scene(t, "nothere.obj"), f"assets.root={t}"], "nothere.obj not found"),
    ("mesh empty", lambda t: [mesh_scene(t, _write(t, "empty.obj", b"")), f"assets.root={t}"], "is empty"),
    ("mesh corrupt", lambda t: [mesh_scene(t, _write(t, "bad.ply", b"ply\nformat binary_little_endian 1.0\n"
                                                                 b"element vertex 99\nend_header\n\x00\x01")),
                                f"assets.root={t}"], "could not be read"),
    ("mesh without faces", lambda t: [mesh_scene(t, _write(t, "pts.obj", b"v 0 0 0\nv 1 0 0\n")),
                                      f"assets.root={t}"], "no triangles"),
    ("path escapes assets.root", lambda t: [mesh_scene(t, "../../etc/passwd"), f"assets.root={t}"],
     "escapes assets.root"),
    ("absolute asset path", lambda t: [mesh_scene(t, "/etc/passwd"), f"assets.root={t}"], "is absolute"),
    ("assets.root missing", lambda t: [f"assets.root={t}/nope"], "is not a folder"),
    ("output dir not writable", lambda t: [f"output_dir={_write(t, 'afile', b'x') and t / 'afile' / 'sub'}"],
     "not writable"),
    ("output dir is a file", lambda t: [f"output_dir={t / _write(t, 'f2', b'x')}"], "is a file"),
    ("bad render platform", lambda t: ["render.pyrender.platform=directx"], "unknown render.pyrender.platform"),
    ("zero solver iterations", lambda t: [scene(t, "objects:\n" + GOOD_OBJ + "physics: {solver_iterations: 0}\n")],
     "physics.solver_iterations must be >= 1"),
    ("unknown png strategy", lambda t: ["export.png_strategy=zip"], "export.png_strategy: unknown value 'zip'; use one of"),
    ("unknown png filter", lambda t: ["export.png_filter=blur"], "export.png_filter: unknown value 'blur'; use one of"),
]


def run_cli(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "SIMGEN_DEBUG"}
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.mark.parametrize("case, make_args, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_with_one_clear_line(tmp_path, case, make_args, expect):
    args = make_args(tmp_path)
    if not any(a.startswith("output_dir=") for a in args):
        args.append(f"output_dir={tmp_path / 'out'}")
    args += ["n_images=1"] if not any(a.startswith("n_images=") for a in args) else []
    r = run_cli(args, tmp_path)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("simgen: error:")]
    assert len(errors) == 1, r.stderr
    assert expect in errors[0], errors[0]
    assert not (tmp_path / "out" / "annotations.json").exists()
    assert not (tmp_path / "out" / "images").exists(), "a failed start must not create the dataset"


def test_debug_flag_shows_traceback(tmp_path):
    env = {**os.environ, "SIMGEN_DEBUG": "1"}
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", "scene=castle",
                        f"output_dir={tmp_path / 'o'}"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_missing_texture_renders_untextured_with_warning(tmp_path, caplog):
    """Decision: a mesh whose texture file is missing renders untextured (base colour) with a warning."""
    import shutil

    from simgen.scene.catalog import load_object
    from simgen.scene.spec import ObjectSpec

    for f in ("crate.obj", "crate.obj.mtl"):
        shutil.copy(REPO / "assets/generated" / f, tmp_path / f)  # material_0.png left out
    m = load_object(ObjectSpec(category="crate", mesh="crate.obj"), "k", tmp_path)
    assert m.texture is None
    assert len(m.faces) == 12


def test_millimetre_mesh_warns(tmp_path, caplog):
    import trimesh

    from simgen.scene.catalog import load_object
    from simgen.scene.spec import ObjectSpec

    trimesh.creation.box(extents=[100, 80, 60]).export(tmp_path / "mm.obj")
    with caplog.at_level("WARNING"):
        load_object(ObjectSpec(category="b", mesh="mm.obj"), "k", tmp_path)
    assert "millimetres" in caplog.text


def test_degenerate_mesh_physics_falls_back_with_warning(tmp_path, caplog):
    import numpy as np
    import trimesh

    from simgen.scene.catalog import load_object
    from simgen.scene.spec import ObjectSpec

    flat = trimesh.Trimesh(vertices=[[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0.1, 0.1, 0]], faces=[[0, 1, 2], [1, 3, 2]])
    flat.export(tmp_path / "flat.obj")
    with caplog.at_level("WARNING"):
        m = load_object(ObjectSpec(category="f", mesh="flat.obj"), "k", tmp_path)
    assert "bounding box" in caplog.text
    assert np.ptp(m.hull_vertices[:, 2]) > 0  # a solid for physics


def _tree_hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".simgen" not in p.parts}


@pytest.mark.gl
def test_disk_full_keeps_finished_shards_and_resumes(tmp_path, make_cfg, monkeypatch):
    """ENOSPC in the middle of a run: clear error, finished shards intact, rerun completes identically."""
    import errno

    from simgen.run.job import render_dataset
    from simgen.run.shard import shard_path
    from simgen.errors import OutputError
    from simgen.export import atomic

    ref = make_cfg(n_images=4, shard_size=2, render__width=160, render__height=120)
    ref.output_dir = str(tmp_path / "ref")
    render_dataset(ref)

    cfg = make_cfg(n_images=4, shard_size=2, render__width=160, render__height=120)
    out = Path(cfg.output_dir)
    calls = {"failed": 0}

    def flaky_write_bytes(path, data):
        # shard 0 is finished (its record is on disk), then the disk fills on the next write
        if shard_path(out, 0).is_file() and not calls["failed"]:
            calls["failed"] += 1
            raise OutputError(f"cannot write {path}: {os.strerror(errno.ENOSPC)}; free disk space or fix "
                              f"permissions, then run the same command again to resume")
        return real_write(path, data)

    real_write = atomic.write_bytes
    monkeypatch.setattr(atomic, "write_bytes", flaky_write_bytes)
    with pytest.raises(OutputError, match="free disk space"):
        render_dataset(cfg)
    assert calls["failed"] == 1
    assert shard_path(out, 0).is_file() and not shard_path(out, 1).exists()
    monkeypatch.setattr(atomic, "write_bytes", real_write)
    render_dataset(cfg)
    assert _tree_hashes(out) == _tree_hashes(Path(ref.output_dir))


@pytest.mark.gl
@pytest.mark.parametrize("sig, code", [("INT", 130), ("TERM", 143)])
def test_interrupt_leaves_a_resumable_run(tmp_path, sig, code):
    import signal
    import time

    out = tmp_path / "o"
    args = [sys.executable, "-m", "simgen.cli.main", "render", f"output_dir={out}", "n_images=40", "shard_size=2",
            "render.width=160", "render.height=120", "export.preview=false"]
    # a shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT: give the child the
    # default disposition, as an interactive Ctrl-C would find it, so the test means the same wherever it runs
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / ".simgen" / "shards").glob("shard_*.json")):
        time.sleep(0.2)
    p.send_signal(getattr(signal, f"SIG{sig}"))
    _, err = p.communicate(timeout=120)
    assert p.returncode == code, err
    assert "resume" in err and "Traceback" not in err
    assert not (out / "manifest.json").exists()
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    import json

    coco = json.loads((out / "annotations.json").read_text())
    assert [e["id"] for e in coco["images"]] == list(range(1, 41))


@pytest.mark.parametrize("raised, code", [(KeyboardInterrupt, 130), ("Terminated", 143)])
def test_interrupt_inside_a_ctypes_call_exits_as_an_interrupt(raised, code, capsys):
    """A Ctrl-C landing while ctypes converts a GL call's arguments (seen in CI: glGetIntegerv during a render)
    reaches simgen as ctypes.ArgumentError, not KeyboardInterrupt: it must still exit 130/143 with the resume
    hint, not 1 with a traceback."""
    import ctypes

    from simgen.cli.common import Terminated, report_errors

    exc = Terminated if raised == "Terminated" else raised

    class Arg:
        @classmethod
        def from_param(cls, obj):
            raise exc()

    libc_abs = ctypes.CDLL(None).abs
    libc_abs.argtypes = [Arg]

    @report_errors
    def job():
        libc_abs(1)

    with pytest.raises(ctypes.ArgumentError):  # what ctypes really raises
        libc_abs(1)
    with pytest.raises(SystemExit) as e:
        job()
    assert e.value.code == code
    assert "run the same command again to resume" in capsys.readouterr().err
