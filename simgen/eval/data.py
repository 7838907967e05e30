"""COCO folders for scoring: loading with clear errors, category matching by name, subsets.

Pure Python/numpy (no torch). A COCO folder is ``<dir>/annotations.json`` plus images at
``<dir>/images/<file_name>`` (falling back to ``<dir>/<file_name>``). ``file_name`` must resolve inside the
folder: absolute and ``../`` paths are refused (:mod:`simgen.export.coco_input`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from simgen.errors import ScoreError

log = logging.getLogger(__name__)


@dataclass
class CocoSet:
    """One loaded COCO folder.

    ``coco`` is the (validated, defaults-filled) annotations dict; ``image_paths`` maps image id -> file.
    """

    root: Path
    role: str
    coco: dict
    image_paths: dict[int, Path]
    anns_by_image: dict[int, list[dict]] = field(default_factory=dict)

    @property
    def images(self) -> list[dict]:
        return self.coco["images"]

    @property
    def annotations(self) -> list[dict]:
        return self.coco["annotations"]

    @property
    def categories(self) -> list[dict]:
        return self.coco["categories"]

    def category_names(self) -> dict[int, str]:
        return {int(c["id"]): str(c["name"]) for c in self.categories}

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class InputLimits:
    """Bounds on a COCO folder given to ``simgen score`` (untrusted input: a huge or hostile file must fail with
    a clear message, not exhaust memory). Defaults are far above any dataset scoring can use on one machine."""

    # annotations.json size (bytes) read into memory
    max_json_bytes: int = 1 << 30
    max_images: int = 200_000
    max_annotations: int = 5_000_000
    # one image file (bytes) and its decoded size (pixels, and the longer side)
    max_image_bytes: int = 256 << 20
    max_image_pixels: int = 64_000_000
    max_image_side: int = 16_384


IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")


def _size(n: float) -> str:
    """``n`` bytes as text: 512 B, 3.2 KiB, 14 MiB, 1.0 GiB."""
    for unit, k in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << k:
            v = n / (1 << k)
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{int(n)} B"


def _image_header(path: Path, limits: InputLimits) -> tuple[int, int] | str:
    """``(width, height)`` of a decodable image file, or why it is not one (a phrase).

    Reads the header and, for PNG, checks every chunk's CRC (``PIL.Image.verify``) without decoding pixels, so
    a truncated or corrupt file fails here, before any training; bounded by ``limits``.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        n_bytes = path.stat().st_size
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if n_bytes > limits.max_image_bytes:
        return f"is {_size(n_bytes)}, more than the limit of {_size(limits.max_image_bytes)}"
    if n_bytes == 0:
        return "is empty (0 bytes)"
    try:
        with Image.open(path) as im:
            fmt, (w, h) = im.format, im.size
            if fmt not in IMAGE_FORMATS:
                return f"is a {fmt} file; use one of {', '.join(IMAGE_FORMATS)}"
            if w * h > limits.max_image_pixels or max(w, h) > limits.max_image_side:
                return (f"is {w}x{h} pixels, more than the limit of {limits.max_image_pixels / 1e6:.0f} MP or "
                        f"{limits.max_image_side} px a side")
            im.verify()
    except Image.DecompressionBombError:
        return f"has more pixels than the limit of {limits.max_image_pixels / 1e6:.0f} MP (decompression bomb guard)"
    except UnidentifiedImageError:
        return "is not a readable image"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"is corrupt or truncated ({str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__})"
    return int(w), int(h)


def load_coco(root: str | os.PathLike, role: str = "dataset", *, check_files: bool = True,
              require_annotations: bool = False, limits: InputLimits | None = None) -> CocoSet:
    """Load and validate a COCO folder; raise ``ScoreError`` naming the file, the entry, the problem and the fix.

    Checks (all before anything is trained or written): JSON size, types (integer ids, bbox four finite numbers),
    unique ids, references, boxes non-negative and inside their image, every ``file_name`` a relative path that
    resolves INSIDE ``root`` (``images/<file_name>`` or ``<file_name>``; absolute and ``../`` paths are refused),
    every image file present, of bounded size and decodable (header + PNG CRCs), its size equal to the declared
    ``width``/``height`` (filled in from the file when absent).

    Args:
        root: folder holding ``annotations.json`` (and ``images/``).
        role: what the set is used for ("synthetic", "real", "real train"): named in error messages.
        check_files: resolve and check every image file (False: only the annotations).
        require_annotations: refuse a set with zero annotations (a test set must have objects).
        limits: bounds on sizes and counts (defaults: :class:`InputLimits`).
    """
    from simgen.export.coco_input import CocoInputError, box_in_image, check_coco, resolve_dataset_file

    lim = limits or InputLimits()
    root = Path(root).expanduser()
    what = f"{role} set {str(root)!r}"
    if not root.is_dir():
        raise ScoreError(f"{what}: folder not found; pass an existing COCO folder (annotations.json + images/)")
    ann_path = root / "annotations.json"
    if not ann_path.is_file():
        raise ScoreError(f"{what}: no annotations.json in it; point to the folder that `simgen render` wrote "
                         "(or a COCO instances file named annotations.json)")
    where = f"{role} set {str(ann_path)!r}"
    size = ann_path.stat().st_size
    if size > lim.max_json_bytes:
        raise ScoreError(f"{where}: {_size(size)}, more than the limit of {_size(lim.max_json_bytes)}; score a "
                         "subset")
    try:
        with open(ann_path, "rb") as f:
            coco = json.load(f)
    except json.JSONDecodeError as exc:
        raise ScoreError(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); re-export "
                         "it, e.g. re-run `simgen render` into an empty folder") from None
    except UnicodeDecodeError as exc:
        raise ScoreError(f"{where}: not UTF-8 text ({exc.reason}); re-export it") from None
    except RecursionError:
        raise ScoreError(f"{where}: JSON nested too deeply to be COCO; re-export it") from None
    try:
        check_coco(coco, require_size=False, require_annotations=require_annotations, max_images=lim.max_images,
                   max_annotations=lim.max_annotations)
    except CocoInputError as exc:
        raise ScoreError(f"{where}: {exc}") from None

    image_paths: dict[int, Path] = {}
    missing: list[str] = []
    for k, im in enumerate(coco["images"]):
        iid = im["id"]
        if not check_files:
            image_paths[iid] = root / "images" / im["file_name"]
            continue
        try:
            p = resolve_dataset_file(root, im["file_name"])
        except CocoInputError as exc:
            raise ScoreError(f"{where}: images[{k}] (id {iid}): {exc}; keep the images inside the dataset folder "
                             "and give file_name relative to it") from None
        if p is None:
            missing.append(im["file_name"])
        else:
            image_paths[iid] = p
    if missing:
        raise ScoreError(f"{what}: {len(missing)} of {len(coco['images'])} image files are missing (first: "
                         f"{', '.join(missing[:3])}; looked in {root / 'images'} and {root}); copy the images "
                         "or fix file_name")
    if check_files:
        for k, im in enumerate(coco["images"]):
            head = _image_header(image_paths[im["id"]], lim)
            if isinstance(head, str):
                raise ScoreError(f"{where}: images[{k}] (id {im['id']}): file {im['file_name']!r} {head}; replace "
                                 "the file or drop the entry")
            if "width" not in im or "height" not in im:
                im["width"], im["height"] = head
            elif head != (im["width"], im["height"]):
                raise ScoreError(f"{where}: images[{k}] (id {im['id']}): declares {im['width']}x{im['height']} "
                                 f"but the file {im['file_name']!r} is {head[0]}x{head[1]}; fix width/height (the "
                                 "boxes are in the file's pixels)")
    sizes = {im["id"]: (im.get("width"), im.get("height")) for im in coco["images"]}
    anns_by_image: dict[int, list[dict]] = {i: [] for i in sizes}
    bad = 0
    for k, a in enumerate(coco["annotations"]):
        w, h = sizes[a["image_id"]]
        if w is not None and h is not None:
            try:
                box_in_image(a["bbox"], w, h, f"annotations[{k}] (id {a['id']})")
            except CocoInputError as exc:
                raise ScoreError(f"{where}: {exc}") from None
        if not (a["bbox"][2] > 0 and a["bbox"][3] > 0):
            bad += 1
        anns_by_image[a["image_id"]].append(a)
    if bad:
        log.warning("%s: %d annotations have an empty bbox (w or h <= 0); they are ignored for training", what, bad)
    n_empty = sum(1 for v in anns_by_image.values() if not v)
    log.info("%s: %d images, %d annotations (%d images without objects), %d categories", what,
             len(coco["images"]), len(coco["annotations"]), n_empty, len(coco["categories"]))
    return CocoSet(root=root, role=role, coco=coco, image_paths=image_paths, anns_by_image=anns_by_image)


def _norm_name(name: str) -> str:
    return " ".join(str(name).strip().lower().split())


@dataclass(frozen=True)
class LabelSpace:
    """Categories shared by the training and test sets, matched by name.

    ``names[k]`` is the name of contiguous label ``k + 1`` (0 = background, as torchvision detectors expect).
    ``to_label[role]`` maps that set's COCO category id -> label; ``to_cat_id[role]`` the reverse.
    """

    names: tuple[str, ...]
    to_label: dict[str, dict[int, int]]
    to_cat_id: dict[str, dict[int, int]]

    @property
    def num_classes(self) -> int:
        """Number of object classes (without background)."""
        return len(self.names)


def match_categories(reference: CocoSet, others: Iterable[CocoSet]) -> LabelSpace:
    """Match categories by (case- and whitespace-insensitive) name.

    The reference (the real test set) fixes the label order. Raises ``ScoreError`` when another set shares no
    category name with it; logs a warning (and scores only the common categories) on partial overlap.
    """
    ref_names = {_norm_name(c["name"]): int(c["id"]) for c in reference.categories}
    common = set(ref_names)
    others = list(others)
    for other in others:
        names = {_norm_name(c["name"]) for c in other.categories}
        shared = common & names
        if not shared:
            raise ScoreError(
                f"no category names in common between the {other.role} set ({', '.join(sorted(names))}) and the "
                f"{reference.role} set ({', '.join(sorted(ref_names))}); categories are matched by name: rename "
                "them in the scene description so they match the real labels")
        only_other = sorted(names - common)
        only_ref = sorted(common - names)
        if only_other or only_ref:
            log.warning("categories differ between the %s and %s sets: scoring only the %d common ones (%s); "
                        "%s-only: %s; %s-only: %s", other.role, reference.role, len(shared),
                        ", ".join(sorted(shared)), other.role, ", ".join(only_other) or "-", reference.role,
                        ", ".join(only_ref) or "-")
        common = shared
    ordered = sorted(common, key=lambda n: ref_names[n])
    display = {_norm_name(c["name"]): str(c["name"]) for c in reference.categories}
    names = tuple(display[n] for n in ordered)
    label_of = {n: k + 1 for k, n in enumerate(ordered)}
    to_label: dict[str, dict[int, int]] = {}
    to_cat: dict[str, dict[int, int]] = {}
    for s in [reference, *others]:
        m = {int(c["id"]): label_of[_norm_name(c["name"])] for c in s.categories if _norm_name(c["name"]) in label_of}
        to_label[s.role] = m
        to_cat[s.role] = {lab: cid for cid, lab in m.items()}
    return LabelSpace(names=names, to_label=to_label, to_cat_id=to_cat)


def training_targets(ds: CocoSet, to_label: dict[int, int], *, min_visibility: float = 0.0
                     ) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """Per image: (path, boxes_xyxy (N, 4) float32 pixels, labels (N,) int64 in 1..K).

    Drops crowd annotations, empty boxes, categories outside ``to_label`` and (when present) annotations with
    ``visibility < min_visibility``. Images without objects are kept (negatives).
    """
    out = []
    for im in ds.images:
        iid = int(im["id"])
        boxes, labels = [], []
        for a in ds.anns_by_image.get(iid, []):
            cid = int(a["category_id"])
            if cid not in to_label or a.get("iscrowd", 0):
                continue
            vis = a.get("visibility")
            if vis is not None and float(vis) < min_visibility:
                continue
            x, y, w, h = (float(v) for v in a["bbox"])
            if w <= 0 or h <= 0:
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(to_label[cid])
        out.append((ds.image_paths[iid], np.asarray(boxes, np.float32).reshape(-1, 4),
                    np.asarray(labels, np.int64)))
    return out


def subset_coco(src: str | os.PathLike, dst: str | os.PathLike, keep: Callable[[dict], bool]) -> Path:
    """Write a COCO folder at ``dst`` holding the images of ``src`` for which ``keep(image_record)`` is true.

    Images are not copied: ``dst/images`` is a symlink to the source's image folder (or to the source folder
    when it keeps its images beside annotations.json). Returns ``dst``.
    """
    src, dst = Path(src), Path(dst)
    ds = load_coco(src, "source")
    images = [im for im in ds.images if keep(im)]
    ids = {int(im["id"]) for im in images}
    coco = dict(ds.coco)
    coco["annotations"] = [a for a in ds.annotations if int(a["image_id"]) in ids]
    dst.mkdir(parents=True, exist_ok=True)
    # dst/images -> the source's images/ (or the source folder when its images sit beside annotations.json):
    # file_name stays relative and resolves inside dst (see simgen.export.coco_input)
    link = dst / "images"
    if not link.exists():
        target = src / "images" if (src / "images").is_dir() else src
        link.symlink_to(target.resolve(), target_is_directory=True)
    coco["images"] = images
    tmp = dst / "annotations.json.tmp"
    tmp.write_text(json.dumps(coco))
    tmp.replace(dst / "annotations.json")
    return dst
