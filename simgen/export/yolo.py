"""COCO -> YOLO (ultralytics) detection layout. The conversion is pure; :func:`write_yolo` does the I/O.

Layout written (what ``ultralytics`` reads with ``model.train(data=".../data.yaml")``)::

    <out>/data.yaml              names: {0: crate, 1: can, ...}; train: images/train; val: images/val
    <out>/images/train/000001.png
    <out>/labels/train/000001.txt   one line per object: "class cx cy w h", normalised to [0, 1] by image size
    <out>/images/val/...  <out>/labels/val/...      (only with val_fraction > 0; else val = train)

Class index = position of the COCO category in ``categories`` sorted by id (COCO id 1 -> class 0). An image
without objects gets an empty label file (ultralytics counts it as background). ``data.yaml`` has no ``path``
key, so ultralytics resolves ``images/...`` against the folder of data.yaml and the folder can be moved.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, Optional

from simgen.errors import OutputError
from simgen.export import atomic
from simgen.export.coco_input import CocoInputError, check_coco, resolve_dataset_file

DECIMALS = 6


def coco_to_yolo_box(bbox_xywh: Iterable[float], width: int, height: int) -> tuple[float, float, float, float]:
    """COCO ``[x, y, w, h]`` (pixels, top-left corner) -> YOLO ``(cx, cy, w, h)`` normalised, clipped to the
    image."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    w, h = max(0.0, x1 - x0), max(0.0, y1 - y0)
    return ((x0 + w / 2) / width, (y0 + h / 2) / height, w / width, h / height)


def yolo_to_coco_box(box: Iterable[float], width: int, height: int) -> list[float]:
    """YOLO ``(cx, cy, w, h)`` normalised -> COCO ``[x, y, w, h]`` pixels."""
    cx, cy, w, h = (float(v) for v in box)
    return [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height]


def class_names(coco: dict) -> list[str]:
    """YOLO class names in class-index order (COCO categories sorted by id)."""
    return [c["name"] for c in sorted(coco["categories"], key=lambda c: c["id"])]


def label_lines(coco: dict) -> dict[int, list[str]]:
    """``{image id: ["class cx cy w h", ...]}`` for every image (empty list: no objects). Pure.

    Crowd annotations and boxes of zero width or height are skipped (ultralytics rejects them).
    """
    cls = {c["id"]: k for k, c in enumerate(sorted(coco["categories"], key=lambda c: c["id"]))}
    size = {e["id"]: (int(e["width"]), int(e["height"])) for e in coco["images"]}
    out: dict[int, list[str]] = {e["id"]: [] for e in coco["images"]}
    for a in sorted(coco["annotations"], key=lambda a: (a["image_id"], a.get("id", 0))):
        if a.get("iscrowd", 0):
            continue
        w, h = size[a["image_id"]]
        box = coco_to_yolo_box(a["bbox"], w, h)
        if box[2] <= 0 or box[3] <= 0:
            continue
        out[a["image_id"]].append(f"{cls[a['category_id']]} " + " ".join(f"{v:.{DECIMALS}f}" for v in box))
    return out


def split_images(image_ids: list[int], val_fraction: float) -> dict[int, str]:
    """``{image id: "train" | "val"}``: the last ``round(val_fraction * N)`` ids (sorted) are val. Deterministic."""
    ids = sorted(image_ids)
    n_val = int(round(val_fraction * len(ids)))
    if val_fraction > 0 and len(ids) > 1:
        n_val = min(max(n_val, 1), len(ids) - 1)
    val = set(ids[len(ids) - n_val:]) if n_val > 0 else set()
    return {i: ("val" if i in val else "train") for i in ids}


def data_yaml(names: list[str], has_val: bool) -> str:
    import yaml

    d = {"train": "images/train", "val": "images/val" if has_val else "images/train",
         "nc": len(names), "names": {k: n for k, n in enumerate(names)}}
    return ("# YOLO (ultralytics) dataset written by simgen from a COCO set; paths are relative to this file's "
            "folder\n" + yaml.safe_dump(d, sort_keys=False, allow_unicode=True))


def _place(src: Path, dst: Path, link: str) -> None:
    """Put ``src`` at ``dst`` atomically: hardlink (falls back to copy), symlink (relative) or copy."""
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    if link == "hardlink":
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    elif link == "symlink":
        os.symlink(os.path.relpath(src.resolve(), dst.parent.resolve()), tmp)
    elif link == "copy":
        shutil.copyfile(src, tmp)
    else:
        raise ValueError(f"link must be hardlink, symlink or copy, got {link!r}")
    os.replace(tmp, dst)


def plan_sources(coco: dict, coco_dir: Path, source: Optional[str | Path] = None) -> dict[int, Path]:
    """Check ``coco`` and resolve every image's source file INSIDE ``coco_dir``; nothing is written.

    Returns ``{image id: real path of the source}``. Raises ``OutputError`` (one line: the entry, the problem,
    the fix) for invalid COCO, a ``file_name`` that is absolute, has ``..`` or escapes ``coco_dir`` through a
    symlink (it would hard-link a file from outside the dataset into the export), a missing image, or two
    images with the same file stem. ``source`` names the COCO file in messages (default: ``coco_dir``).
    """
    what = f"COCO file {source}" if source is not None else f"COCO file of {coco_dir}"
    try:
        check_coco(coco, require_size=True)
    except CocoInputError as exc:
        raise OutputError(f"{what}: {exc}") from None
    sources: dict[int, Path] = {}
    stems: dict[str, int] = {}
    for k, e in enumerate(coco["images"]):
        where = f"images[{k}] (id {e['id']})"
        try:
            src = resolve_dataset_file(coco_dir, e["file_name"])
        except CocoInputError as exc:
            raise OutputError(f"{what}: {where}: {exc}; file_name must name an image inside the "
                              "dataset folder (relative to it or to its images/), nothing is exported") from None
        if src is None:
            raise OutputError(f"image {e['file_name']} of the COCO set is missing under {coco_dir} (looked in "
                              f"images/ and the folder itself); check the dataset folder")
        stem = Path(e["file_name"]).stem
        if stem in stems:  # ultralytics pairs images and labels by stem
            raise OutputError(f"two images share the file stem {stem!r} (ids {stems[stem]}, {e['id']}); "
                              f"YOLO label files need unique image names")
        stems[stem] = e["id"]
        sources[e["id"]] = src
    return sources


def write_yolo(coco: dict, coco_dir: Path, out_dir: Path, *, val_fraction: float = 0.0, link: str = "hardlink",
               names: Optional[list[str]] = None, source: Optional[str | Path] = None) -> dict:
    """Write ``coco`` (whose images live under ``coco_dir``) in the YOLO layout into ``out_dir``.

    Every entry is checked and every source resolved inside ``coco_dir`` first (:func:`plan_sources`), so a bad
    file fails before anything is written or linked. Idempotent (every file written atomically; a rerun
    rewrites the same bytes). ``source`` names the COCO file in error messages. Returns counts.
    """

    coco_dir, out_dir = Path(coco_dir), Path(out_dir)
    sources = plan_sources(coco, coco_dir, source)
    names = names or class_names(coco)
    lines = label_lines(coco)
    split = split_images([e["id"] for e in coco["images"]], val_fraction)
    for e in coco["images"]:
        sub = split[e["id"]]
        stem = Path(e["file_name"]).stem
        img_dst = out_dir / "images" / sub / Path(e["file_name"]).name
        lab_dst = out_dir / "labels" / sub / f"{stem}.txt"
        img_dst.parent.mkdir(parents=True, exist_ok=True)
        lab_dst.parent.mkdir(parents=True, exist_ok=True)
        _place(sources[e["id"]], img_dst, link)
        atomic.write_bytes(lab_dst, "".join(f"{ln}\n" for ln in lines[e["id"]]).encode())
    has_val = "val" in split.values()
    atomic.write_bytes(out_dir / "data.yaml", data_yaml(names, has_val).encode())
    return {"images": len(coco["images"]), "labels": sum(len(v) for v in lines.values()),
            "classes": len(names), "train": sum(1 for v in split.values() if v == "train"),
            "val": sum(1 for v in split.values() if v == "val")}


def coco_to_yolo(coco_dir: str | Path, out_dir: str | Path, *, annotations: Optional[str | Path] = None,
                 val_fraction: float = 0.0, link: str = "hardlink") -> dict:
    """Convert the COCO folder ``coco_dir`` (``annotations.json`` + ``images/``) into the YOLO layout in ``out_dir``
    (what ``simgen export-yolo`` runs). Returns counts (images, labels, classes, train, val)."""
    import json

    coco_dir = Path(coco_dir)
    ann = Path(annotations) if annotations else coco_dir / "annotations.json"
    return write_yolo(json.loads(ann.read_text()), coco_dir, Path(out_dir), val_fraction=val_fraction, link=link,
                      source=ann)


def read_yolo(out_dir: Path) -> tuple[list[str], dict[str, list[tuple[int, float, float, float, float]]]]:
    """Read a YOLO folder back: ``(names, {"<split>/<stem>": [(class, cx, cy, w, h), ...]})`` (checks/tests)."""
    import yaml

    out_dir = Path(out_dir)
    d = yaml.safe_load((out_dir / "data.yaml").read_text())
    raw = d["names"]
    names = [raw[k] for k in sorted(raw)] if isinstance(raw, dict) else list(raw)
    labels: dict[str, list] = {}
    for p in sorted((out_dir / "labels").glob("*/*.txt")):
        rows = []
        for ln in p.read_text().splitlines():
            if ln.strip():
                c, *box = ln.split()
                rows.append((int(c), *(float(v) for v in box)))
        labels[f"{p.parent.name}/{p.stem}"] = rows
    return names, labels


class YoloExporter:
    """``yolo/``: images (hard links), labels and data.yaml in the ultralytics layout."""

    name = "yolo"

    def outputs(self, coco: dict, cfg) -> list[str]:
        split = split_images([e["id"] for e in coco["images"]], 0.0)
        out = ["yolo/data.yaml"]
        for e in coco["images"]:
            name = Path(e["file_name"]).name
            out += [f"yolo/images/{split[e['id']]}/{name}", f"yolo/labels/{split[e['id']]}/{Path(name).stem}.txt"]
        return out

    def export(self, coco: dict, out: Path, cfg) -> list[str]:
        write_yolo(coco, out, out / "yolo", link="hardlink")
        return sorted(str(p.relative_to(out)) for p in (out / "yolo").rglob("*") if p.is_file())
