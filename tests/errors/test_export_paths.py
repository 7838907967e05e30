"""`simgen export-yolo` never reads or links a file from outside the dataset folder, table-driven: an absolute,
``../`` or symlinked ``file_name`` (or a malformed entry) ends with exit code 2 and ONE line on stderr, no
traceback; files that existed before are unchanged, the outside file gains no hard link, and nothing is written
into the output folder. Each case runs the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("yaml")


def make_set(root: Path, n_images: int = 3) -> Path:
    """A valid tiny COCO folder (``annotations.json`` + ``images/00000k.png``, 32x24, one box each)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    images, anns = [], []
    for i in range(n_images):
        fn = f"{i:06d}.png"
        cv2.imwrite(str(root / "images" / fn), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        images.append({"id": i + 1, "file_name": fn, "width": 32, "height": 24})
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [2.0, 3.0, 10.0, 8.0],
                     "area": 80.0, "iscrowd": 0})
    coco = {"info": {}, "licenses": [], "images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "thing"}]}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


def set_file_name(k: int, value) -> Callable[[Path], None]:
    def f(t: Path) -> None:
        p = t / "ds" / "annotations.json"
        coco = json.loads(p.read_text())
        coco["images"][k]["file_name"] = value(t) if callable(value) else value
        p.write_text(json.dumps(coco))
    return f


def symlinked_image(t: Path) -> None:
    (t / "ds" / "images" / "000002.png").unlink()
    (t / "ds" / "images" / "000002.png").symlink_to(t / "secret.png")


def symlinked_subfolder(t: Path) -> None:
    (t / "ds" / "images" / "sub").symlink_to(t, target_is_directory=True)
    set_file_name(1, "sub/secret.png")(t)


def bad_image_id(t: Path) -> None:
    p = t / "ds" / "annotations.json"
    coco = json.loads(p.read_text())
    coco["annotations"][0]["image_id"] = "abc"
    p.write_text(json.dumps(coco))


# (case id, setup(tmp) -> None, text expected in the error line). tmp/secret.png is the file outside the dataset.
CASES = [
    ("absolute path to a file outside", set_file_name(0, lambda t: str(t / "secret.png")), "is an absolute path"),
    ("absolute system file", set_file_name(0, "/etc/hostname"), "is an absolute path"),
    ("dot-dot", set_file_name(1, "../secret.png"), "contains '..'"),
    ("dot-dot below images", set_file_name(2, "images/../../secret.png"), "contains '..'"),
    ("backslash dot-dot", set_file_name(2, "..\\secret.png"), "contains '..'"),
    ("symlinked file pointing outside", symlinked_image, "through a symlink"),
    ("symlinked folder pointing outside", symlinked_subfolder, "through a symlink"),
    ("file_name not a string", set_file_name(0, ["a.png"]), "is of type list, not a string"),
    ("empty file_name", set_file_name(0, ""), "is empty"),
    ("image_id is a string", bad_image_id, "'image_id' is 'abc', not an integer"),
    ("missing image", lambda t: (t / "ds" / "images" / "000001.png").unlink(), "is missing under"),
    ("annotations not JSON", lambda t: (t / "ds" / "annotations.json").write_bytes(b"\xff\xfe{"), "not valid JSON"),
]


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 and hard-link count of every file under ``root`` (symlinks not followed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_nlink)
    return out


def run_export(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SIMGEN_DEBUG"}
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", "export-yolo", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=cwd)


@pytest.mark.parametrize("case, setup, expect", CASES, ids=[c[0] for c in CASES])
def test_export_refuses_files_outside_the_dataset(tmp_path, case, setup, expect):
    make_set(tmp_path / "ds")
    (tmp_path / "secret.png").write_bytes((tmp_path / "ds" / "images" / "000000.png").read_bytes() + b"secret")
    out = tmp_path / "yolo_out"
    out.mkdir()
    (out / "keep.txt").write_text("a file the user had there")
    setup(tmp_path)
    before = tree_state(tmp_path)
    r = run_export(str(tmp_path / "ds"), str(out), cwd=tmp_path)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("simgen: error: ") and expect in lines[0], lines[0]
    assert tree_state(tmp_path) == before, "a pre-existing file changed or gained a hard link"
    assert (tmp_path / "secret.png").stat().st_nlink == 1
    assert sorted(p.name for p in out.rglob("*")) == ["keep.txt"], "something was written or linked"


def test_images_folder_may_be_a_symlink_and_links_stay_inside(tmp_path):
    """A legitimate layout still exports: images/ is a symlink to a shared image folder (as subset_coco
    writes); the hard links point at the dataset's own files."""
    make_set(tmp_path / "shared_src")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "images").symlink_to(tmp_path / "shared_src" / "images", target_is_directory=True)
    (tmp_path / "ds" / "annotations.json").write_bytes((tmp_path / "shared_src" / "annotations.json").read_bytes())
    r = run_export(str(tmp_path / "ds"), str(tmp_path / "y"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    src = tmp_path / "shared_src" / "images" / "000000.png"
    assert (tmp_path / "y" / "images" / "train" / "000000.png").stat().st_ino == src.stat().st_ino
    assert (tmp_path / "y" / "labels" / "train" / "000000.txt").read_text().startswith("0 ")


def test_resolver_unit_cases(tmp_path):
    from simgen.export.coco_input import PathEscapeError, file_name_problem, resolve_dataset_file

    make_set(tmp_path / "ds")
    assert resolve_dataset_file(tmp_path / "ds", "000000.png") == (tmp_path / "ds/images/000000.png").resolve()
    assert resolve_dataset_file(tmp_path / "ds", "images/000001.png") == (tmp_path / "ds/images/000001.png").resolve()
    assert resolve_dataset_file(tmp_path / "ds", "nothere.png") is None
    for bad in ("/etc/passwd", "../x", "a/../../x", "..", "C:\\x.png", "a\x00b", "", 3, None):
        assert file_name_problem(bad) is not None, bad
        with pytest.raises(PathEscapeError):
            resolve_dataset_file(tmp_path / "ds", bad)
    for ok in ("x.png", "sub/x.png", "..x.png", "x..png", "~x.png"):
        assert file_name_problem(ok) is None, ok
