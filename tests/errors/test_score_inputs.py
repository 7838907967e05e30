"""`simgen score` on bad input, table-driven: every case ends with exit code 2 and ONE line on stderr naming the
file, the entry and the fix, no traceback, before torch is imported; every file that existed before is unchanged
and output_dir is not created. Each case runs the real CLI in a subprocess:
``python -m simgen.cli.main score synthetic_dir=... real_dir=... output_dir=... score=quick``."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

pytestmark = pytest.mark.slow

cv2 = pytest.importorskip("cv2")
pytest.importorskip("hydra")

CATS = ["red_box", "blue_disc"]


def make_set(root: Path, n_images: int = 3, seed: int = 0) -> Path:
    """A valid tiny COCO folder: ``root/annotations.json`` + ``root/images/00000k.png`` (64x48), 1-2 boxes each."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    images, anns = [], []
    for i in range(n_images):
        img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        fn = f"{i:06d}.png"
        cv2.imwrite(str(root / "images" / fn), img)
        images.append({"id": i + 1, "file_name": fn, "width": 64, "height": 48})
        for k in range(1 + i % 2):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1 + k,
                         "bbox": [4.0 + 10 * k, 5.0, 20.0, 16.0], "area": 320.0, "iscrowd": 0})
    coco = {"info": {}, "licenses": [], "images": images, "annotations": anns,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(CATS)]}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


def edit(root: Path, fn: Callable[[dict], None]) -> None:
    coco = json.loads((root / "annotations.json").read_text())
    fn(coco)
    (root / "annotations.json").write_text(json.dumps(coco))  # NaN is written as NaN (json's default)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (RGB), with one tiny (invalid) IDAT: a decompression bomb's
    header without the bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def _set(coco: dict, path: tuple, value) -> None:
    obj = coco
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def field(which: str, path: tuple, value) -> Callable[[Path], None]:
    """Case maker: set ``coco[path...] = value`` in the ``which`` (real/synthetic) set."""
    return lambda t: edit(t / which, lambda c: _set(c, path, value))


def real_edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda t: edit(t / "real", fn)


def write_file(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda t: (t / rel).write_bytes(data)


def symlink_out(t: Path) -> None:
    (t / "secret.png").write_bytes((t / "real" / "images" / "000000.png").read_bytes())
    (t / "real" / "images" / "000001.png").unlink()
    (t / "real" / "images" / "000001.png").symlink_to(t / "secret.png")


def only_other_category(c: dict) -> None:
    c["categories"].append({"id": 3, "name": "green_triangle"})
    for a in c["annotations"]:
        a["category_id"] = 3


# (case id, setup(tmp) -> None, extra CLI args, text expected in the error line)
CASES = [
    ("image_id is a string", field("real", ("annotations", 0, "image_id"), "abc"), [],
     "annotations[0] (id 1): 'image_id' is 'abc', not an integer"),
    ("bbox of strings", field("real", ("annotations", 1, "bbox"), ["1", "2", "3", "4"]), [],
     "bbox is ['1', '2', '3', '4']; it must be [x, y, width, height]"),
    ("image id null", field("real", ("images", 0, "id"), None), [], "images[0]: 'id' is None, not an integer"),
    ("annotation id null", field("synthetic", ("annotations", 0, "id"), None), [],
     "annotations[0]: 'id' is None, not an integer"),
    ("image id float", field("real", ("images", 1, "id"), 2.5), [], "'id' is 2.5, not an integer"),
    ("category id string", field("synthetic", ("categories", 0, "id"), "1"), [],
     "categories[0]: 'id' is '1', not an integer"),
    ("duplicate image id", field("real", ("images", 1, "id"), 1), [], "image id 1 appears twice"),
    ("duplicate annotation id", field("real", ("annotations", 1, "id"), 1), [], "annotation id 1 appears twice"),
    ("unknown image reference", field("real", ("annotations", 0, "image_id"), 99), [],
     "image_id 99 is not in images"),
    ("unknown category reference", field("synthetic", ("annotations", 0, "category_id"), 7), [],
     "category_id 7 is not in categories"),
    ("nan in bbox", field("real", ("annotations", 0, "bbox"), [1.0, float("nan"), 3.0, 4.0]), [],
     "NaN or infinite"),
    ("negative bbox", field("real", ("annotations", 0, "bbox"), [-5.0, 2.0, 3.0, 4.0]), [], "negative value"),
    ("bbox outside the image", field("real", ("annotations", 0, "bbox"), [50.0, 2.0, 30.0, 4.0]), [],
     "reaches outside its 64x48 image"),
    ("bbox of three numbers", field("synthetic", ("annotations", 0, "bbox"), [1, 2, 3]), [], "bbox is [1, 2, 3]"),
    ("real set without annotations", field("real", ("annotations",), []), [], "zero annotations"),
    ("real set without scored objects", real_edit(only_other_category), [],
     "has no objects of the scored categories"),
    ("images not a list", field("real", ("images",), {"1": "a.png"}), [], "'images' is missing or not a list"),
    ("top level is a list", write_file("real/annotations.json", b"[1, 2]"), [], "not a JSON object"),
    ("invalid json", write_file("synthetic/annotations.json", b'{"images": ['), [], "not valid JSON"),
    ("absolute file_name", field("real", ("images", 0, "file_name"), "/etc/passwd"), [], "is an absolute path"),
    ("dot-dot file_name", field("real", ("images", 0, "file_name"), "../secret.png"), [], "contains '..'"),
    ("nested dot-dot file_name", field("synthetic", ("images", 2, "file_name"), "images/../../real/x.png"), [],
     "contains '..'"),
    ("file_name not a string", field("real", ("images", 0, "file_name"), 7), [], "file_name 7 is of type int"),
    ("symlink out of the folder", symlink_out, [], "through a symlink"),
    ("missing image file", lambda t: (t / "real" / "images" / "000002.png").unlink(), [],
     "1 of 3 image files are missing"),
    ("image not decodable", write_file("real/images/000001.png", b"this is not a png at all"), [],
     "is not a readable image"),
    ("truncated png", lambda t: (t / "real/images/000001.png").write_bytes(
        (t / "real/images/000001.png").read_bytes()[:300]), [], "corrupt or truncated"),
    ("declared size differs", field("real", ("images", 0, "width"), 80), [], "declares 80x48 but the file"),
    ("image too large", write_file("synthetic/images/000001.png", png_header_only(30000, 30000)), [],
     "than the limit of 64 MP"),
    ("empty category name", field("synthetic", ("categories", 1, "name"), " "), [], "'name' is ' '"),
    ("output_dir is the real set", lambda t: None, ["output_dir={real}"], "output_dir is the real_dir folder"),
]


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case, setup, extra, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_score_input_fails_with_one_line(tmp_path, case, setup, extra, expect):
    make_set(tmp_path / "real", seed=1)
    make_set(tmp_path / "synthetic", seed=2)
    setup(tmp_path)
    before = tree_hashes(tmp_path)
    out = tmp_path / "score_out"
    args = [f"synthetic_dir={tmp_path / 'synthetic'}", f"real_dir={tmp_path / 'real'}", f"output_dir={out}",
            "score=quick"]
    for e in extra:
        key = e.split("=")[0]
        args = [a for a in args if not a.startswith(key + "=")] + [e.format(real=tmp_path / "real")]
    env = {k: v for k, v in os.environ.items() if k != "SIMGEN_DEBUG"}
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "score", *args], capture_output=True, text=True,
                       env=env, timeout=120, cwd=tmp_path)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("simgen: error: "), lines[0]
    assert expect in lines[0], lines[0]
    assert "; " in lines[0], f"the line must give a fix after '; ': {lines[0]}"
    assert tree_hashes(tmp_path) == before, "a pre-existing file changed"
    if "output_dir=" not in " ".join(extra):
        assert not out.exists(), "output_dir was created for a run that cannot start"


def test_valid_inputs_pass_the_checks(tmp_path):
    """The same tiny sets without the faults load (the table above fails for its fault, not for the fixture)."""
    from simgen.errors import ScoreError
    from simgen.eval.data import load_coco
    from simgen.eval.schema import ScoreSettings
    from simgen.eval.score import load_inputs

    make_set(tmp_path / "real", seed=1)
    make_set(tmp_path / "synthetic", seed=2)
    inputs = load_inputs(tmp_path / "synthetic", tmp_path / "real", tmp_path / "o", ScoreSettings())
    assert len(inputs.real) == 3 and inputs.labels.names == tuple(CATS)
    assert sum(len(r[2]) for r in inputs.records["synthetic"]) == 4
    assert not (tmp_path / "o").exists()
    # width/height may be absent: filled from the file header
    edit(tmp_path / "real", lambda c: [(im.pop("width"), im.pop("height")) for im in c["images"]])
    assert load_coco(tmp_path / "real", "real").images[0]["width"] == 64
    edit(tmp_path / "real", lambda c: c["images"][0].update(width=64))  # half a size is an error, not a guess
    with pytest.raises(ScoreError, match="'height' is None, not a positive integer"):
        load_coco(tmp_path / "real", "real")


def test_limits_bound_counts_and_sizes(tmp_path):
    from simgen.errors import ScoreError
    from simgen.eval.data import InputLimits, load_coco

    root = make_set(tmp_path / "s", n_images=3)
    with pytest.raises(ScoreError, match="3 images listed, more than the limit of 2"):
        load_coco(root, "synthetic", limits=InputLimits(max_images=2))
    with pytest.raises(ScoreError, match="more than the limit of 100 B"):
        load_coco(root, "synthetic", limits=InputLimits(max_json_bytes=100))
    with pytest.raises(ScoreError, match="images\\[0\\] \\(id 1\\): file '000000.png' is 64x48 pixels, more than"):
        load_coco(root, "synthetic", limits=InputLimits(max_image_pixels=1000))
