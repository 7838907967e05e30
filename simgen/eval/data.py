"""COCO folders for scoring: loading with clear errors, category matching by name, subsets.

Pure Python/numpy (no torch). A COCO folder is ``<dir>/annotations.json`` plus images at
``<dir>/images/<file_name>`` (falling back to ``<dir>/<file_name>``; an absolute ``file_name`` is used as is).
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


def _resolve_image(root: Path, file_name: str) -> Path | None:
    p = Path(file_name)
    if p.is_absolute():
        return p if p.is_file() else None
    for cand in (root / "images" / file_name, root / file_name):
        if cand.is_file():
            return cand
    return None


def load_coco(root: str | os.PathLike, role: str = "dataset", *, check_files: bool = True) -> CocoSet:
    """Load and validate a COCO folder; raise ``ScoreError`` naming the problem and the fix.

    Args:
        root: folder holding ``annotations.json`` (and ``images/``).
        role: what the set is used for ("synthetic", "real", "real train"): named in error messages.
        check_files: check every image file exists.
    """
    root = Path(root).expanduser()
    what = f"{role} set {str(root)!r}"
    if not root.is_dir():
        raise ScoreError(f"{what}: folder not found; pass an existing COCO folder (annotations.json + images/)")
    ann_path = root / "annotations.json"
    if not ann_path.is_file():
        raise ScoreError(f"{what}: no annotations.json in it; point to the folder that `simgen render` wrote "
                         "(or a COCO instances file named annotations.json)")
    try:
        with open(ann_path, "rb") as f:
            coco = json.load(f)
    except json.JSONDecodeError as exc:
        raise ScoreError(f"{what}: annotations.json is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}); re-export it, e.g. re-run `simgen render` into an empty folder") from None
    except UnicodeDecodeError as exc:
        raise ScoreError(f"{what}: annotations.json is not UTF-8 text ({exc}); re-export it") from None
    if not isinstance(coco, dict):
        raise ScoreError(f"{what}: annotations.json must hold a JSON object with images/annotations/categories")
    for key in ("images", "categories"):
        if not isinstance(coco.get(key), list):
            raise ScoreError(f"{what}: annotations.json has no {key!r} list; it must be COCO instances format")
    coco.setdefault("annotations", [])
    if not isinstance(coco["annotations"], list):
        raise ScoreError(f"{what}: 'annotations' must be a list")
    coco.setdefault("info", {})
    coco.setdefault("licenses", [])
    if not coco["images"]:
        raise ScoreError(f"{what}: annotations.json lists zero images; render or copy some images first")
    if not coco["categories"]:
        raise ScoreError(f"{what}: annotations.json lists zero categories; every COCO set needs its categories")

    cat_ids = set()
    for c in coco["categories"]:
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            raise ScoreError(f"{what}: every category needs 'id' and 'name' (got {c!r:.80})")
        cat_ids.add(int(c["id"]))
    image_paths: dict[int, Path] = {}
    missing: list[str] = []
    img_ids = set()
    for im in coco["images"]:
        if not isinstance(im, dict) or not {"id", "file_name"} <= im.keys():
            raise ScoreError(f"{what}: every image needs 'id' and 'file_name' (got {im!r:.80})")
        iid = int(im["id"])
        if iid in img_ids:
            raise ScoreError(f"{what}: image id {iid} appears twice; image ids must be unique")
        img_ids.add(iid)
        if check_files:
            p = _resolve_image(root, str(im["file_name"]))
            if p is None:
                missing.append(str(im["file_name"]))
            else:
                image_paths[iid] = p
        else:
            image_paths[iid] = root / "images" / str(im["file_name"])
    if missing:
        raise ScoreError(f"{what}: {len(missing)} of {len(coco['images'])} image files are missing (first: "
                         f"{', '.join(missing[:3])}; looked in {root / 'images'} and {root}); copy the images "
                         "or fix file_name")
    for im in coco["images"]:
        if "width" not in im or "height" not in im:
            # Fill in from the file (rarely needed; simgen and most exporters write them).
            import cv2

            img = cv2.imread(str(image_paths[int(im["id"])]), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise ScoreError(f"{what}: cannot read image {im['file_name']!r}; replace the file")
            im["height"], im["width"] = int(img.shape[0]), int(img.shape[1])

    anns_by_image: dict[int, list[dict]] = {i: [] for i in img_ids}
    bad = 0
    for k, a in enumerate(coco["annotations"]):
        if not isinstance(a, dict) or not {"image_id", "category_id", "bbox"} <= a.keys():
            raise ScoreError(f"{what}: annotation #{k} needs image_id, category_id and bbox")
        if int(a["image_id"]) not in img_ids:
            raise ScoreError(f"{what}: annotation {a.get('id', k)} refers to unknown image id {a['image_id']}")
        if int(a["category_id"]) not in cat_ids:
            raise ScoreError(f"{what}: annotation {a.get('id', k)} has unknown category id {a['category_id']}")
        bbox = a["bbox"]
        if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
            raise ScoreError(f"{what}: annotation {a.get('id', k)} bbox must be [x, y, w, h] (got {bbox!r})")
        a.setdefault("id", k + 1)
        a.setdefault("iscrowd", 0)
        a.setdefault("area", float(bbox[2]) * float(bbox[3]))
        if not (bbox[2] > 0 and bbox[3] > 0):
            bad += 1
        anns_by_image[int(a["image_id"])].append(a)
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

    Images are not copied: ``dst/images`` is a symlink to the source's image folder (or file_name is made
    absolute when the source keeps images beside annotations.json). Returns ``dst``.
    """
    src, dst = Path(src), Path(dst)
    ds = load_coco(src, "source")
    images = [im for im in ds.images if keep(im)]
    ids = {int(im["id"]) for im in images}
    coco = dict(ds.coco)
    coco["annotations"] = [a for a in ds.annotations if int(a["image_id"]) in ids]
    dst.mkdir(parents=True, exist_ok=True)
    if (src / "images").is_dir():
        link = dst / "images"
        if not link.exists():
            link.symlink_to((src / "images").resolve(), target_is_directory=True)
        coco["images"] = images
    else:
        coco["images"] = [dict(im, file_name=str(ds.image_paths[int(im["id"])].resolve())) for im in images]
    tmp = dst / "annotations.json.tmp"
    tmp.write_text(json.dumps(coco))
    tmp.replace(dst / "annotations.json")
    return dst
