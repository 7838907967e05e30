"""Checks for COCO input that simgen did not write itself: structure, ids, references, boxes, and file names.

A COCO file is untrusted input (a download, a colleague's export, a hand edit), so every reader checks it here
before using it, and gets ONE message naming the entry, the problem and the fix:

* :func:`check_coco` — types (ids are integers, bbox four finite numbers, ...), unique ids, references resolve,
  boxes non-negative and inside their image (1 px tolerance), ``file_name`` a plain relative path. It fills
  what COCO allows to be absent (annotation ``id``, ``iscrowd``, ``area``, ``info``, ``licenses``) in place.
* :func:`resolve_dataset_file` — the file a ``file_name`` names INSIDE the dataset folder, never outside:
  an absolute path or a ``../`` would make an exporter hard-link (or the scorer read) any file the user can
  read, e.g. ``/etc/shadow``. Looked up in ``<root>/images/`` then ``<root>/``; the file it finally names
  (symlinks followed) must lie inside ``<root>`` or inside ``<root>/images`` (which may itself be a symlink to a
  shared image folder, as :func:`simgen.eval.data.subset_coco` writes); a symlinked *file* pointing elsewhere is
  refused.

Pure Python (``os.path``, ``math``); no engine, no numpy. Callers wrap :class:`CocoInputError` in their own
``SimgenError`` subclass and prefix the file it came from.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

IMAGE_SUBDIRS = ("images", "")
BOX_TOLERANCE_PX = 1.0  # boxes may overhang the image by this much (rounding of polygon extents)
_DRIVE = re.compile(r"^[A-Za-z]:")


class CocoInputError(ValueError):
    """One problem in a COCO file: ``str()`` is ``"<entry>: <problem>; <fix>"`` (one line)."""


class PathEscapeError(CocoInputError):
    """A ``file_name`` that is not a plain relative path inside the dataset folder; ``str()`` says why."""


# ---------------------------------------------------------------------------------------------- file names

def file_name_problem(file_name: object) -> str | None:
    """Why ``file_name`` is not a safe relative path (a short phrase), or None when it is."""
    if not isinstance(file_name, str):
        return f"is of type {type(file_name).__name__}, not a string"
    if not file_name.strip():
        return "is empty"
    if "\x00" in file_name:
        return "contains a NUL character"
    if file_name.startswith(("/", "\\")) or os.path.isabs(file_name) or _DRIVE.match(file_name):
        return "is an absolute path"
    if any(part == ".." for part in re.split(r"[\\/]+", file_name)):
        return "contains '..'"
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_dataset_file(root: str | os.PathLike, file_name: object,
                         subdirs: tuple[str, ...] = IMAGE_SUBDIRS) -> Path | None:
    """The existing file that ``file_name`` names inside the dataset folder ``root``, or None if there is none.

    Looks in ``root/<subdir>/file_name`` for each of ``subdirs`` in order (default: ``images/`` then the root).
    Returns the real path (symlinks resolved), so a caller that links or reads it uses exactly the checked file.

    Raises:
        PathEscapeError: ``file_name`` is absolute, has ``..``, is not a string, or resolves (through a
            symlink) to a file outside ``root`` and outside ``root/images``.
    """
    problem = file_name_problem(file_name)
    if problem is not None:
        raise PathEscapeError(f"file_name {_show(file_name)} {problem}")
    assert isinstance(file_name, str)
    root_s = os.fspath(root)
    root_real = os.path.realpath(root_s)
    allowed = [root_real] + [os.path.realpath(os.path.join(root_s, d)) for d in subdirs if d]
    for sub in subdirs:
        cand = os.path.join(root_s, sub, file_name) if sub else os.path.join(root_s, file_name)
        if not os.path.lexists(cand):
            continue
        real = os.path.realpath(cand)
        if not any(_inside(real, a) for a in allowed):
            raise PathEscapeError(f"file_name {file_name!r} resolves through a symlink to {real}, outside the "
                                  "dataset folder")
        if os.path.isfile(real):
            return Path(real)
    return None


# ---------------------------------------------------------------------------------------------- structure

def _show(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_coco(coco: Any, *, require_size: bool = True, require_annotations: bool = False,
               max_images: int | None = None, max_annotations: int | None = None) -> dict:
    """Check a parsed COCO instances dict; fill optional fields in place; return it.

    Args:
        coco: what ``json.load`` returned for the file.
        require_size: every image needs integer ``width`` and ``height`` > 0 (else they may be absent, to be
            filled from the file; boxes of such images are checked against the size later by the caller).
        require_annotations: refuse a file with zero annotations.
        max_images, max_annotations: bounds on the counts (None: unbounded).
    Raises:
        CocoInputError: the first problem, as ``"<entry>: <problem>; <fix>"``.
    """
    _check_top_level(coco, require_annotations, max_images, max_annotations)
    cat_ids = _check_categories(coco["categories"])
    sizes = _check_images(coco["images"], require_size)
    ann_ids: set[int] = set()
    missing_id: list[dict] = []
    for k, a in enumerate(coco["annotations"]):
        _check_annotation(k, a, sizes, cat_ids, ann_ids, missing_id)
    next_id = max(ann_ids, default=0) + 1
    for a in missing_id:
        a["id"] = next_id
        next_id += 1
    return coco


def _check_top_level(coco: Any, require_annotations: bool, max_images: int | None,
                     max_annotations: int | None) -> None:
    """The three lists exist (annotations, info and licenses are filled in when absent), are non-empty where
    they must be, and within the bounds."""
    if not isinstance(coco, dict):
        raise CocoInputError(f"top level is {type(coco).__name__}, not a JSON object; a COCO instances file is "
                             "an object with images, annotations and categories")
    for key in ("images", "categories"):
        if not isinstance(coco.get(key), list):
            raise CocoInputError(f"{key!r} is missing or not a list; it must be COCO instances format")
    coco.setdefault("annotations", [])
    if not isinstance(coco["annotations"], list):
        raise CocoInputError("'annotations' is not a list; it must be COCO instances format")
    coco.setdefault("info", {})
    coco.setdefault("licenses", [])
    images, anns, cats = coco["images"], coco["annotations"], coco["categories"]
    if not images:
        raise CocoInputError("zero images listed; render or copy some images first")
    if not cats:
        raise CocoInputError("zero categories listed; every COCO set needs its categories")
    if require_annotations and not anns:
        raise CocoInputError("zero annotations: nothing to train or test on; label the images (a detector "
                             "score against a set without objects means nothing)")
    if max_images is not None and len(images) > max_images:
        raise CocoInputError(f"{len(images)} images listed, more than the limit of {max_images}; use a subset")
    if max_annotations is not None and len(anns) > max_annotations:
        raise CocoInputError(f"{len(anns)} annotations listed, more than the limit of {max_annotations}; use a "
                             "subset")


def _check_categories(cats: list) -> set[int]:
    """Each category an object with a unique integer id and a non-empty name; returns the ids."""
    cat_ids: set[int] = set()
    for k, c in enumerate(cats):
        where = f"categories[{k}]"
        if not isinstance(c, dict):
            raise CocoInputError(f"{where} is {_show(c)}, not an object; give each category an id and a name")
        if not _is_int(c.get("id")):
            raise CocoInputError(f"{where}: 'id' is {_show(c.get('id'))}, not an integer; give every category "
                                 "a unique integer id")
        if not isinstance(c.get("name"), str) or not c["name"].strip():
            raise CocoInputError(f"{where} (id {c['id']}): 'name' is {_show(c.get('name'))}; give every "
                                 "category a non-empty name")
        if c["id"] in cat_ids:
            raise CocoInputError(f"{where}: category id {c['id']} appears twice; category ids must be unique")
        cat_ids.add(c["id"])
    return cat_ids


def _check_images(images: list, require_size: bool) -> dict[int, tuple[int, int] | None]:
    """Each image an object with a unique integer id, a file_name inside the dataset folder and (when required
    or given) a positive integer size; returns id -> (width, height), or None where the size is to be read
    from the file."""
    sizes: dict[int, tuple[int, int] | None] = {}
    for k, im in enumerate(images):
        where = f"images[{k}]"
        if not isinstance(im, dict):
            raise CocoInputError(f"{where} is {_show(im)}, not an object; give each image an id and file_name")
        if not _is_int(im.get("id")):
            raise CocoInputError(f"{where}: 'id' is {_show(im.get('id'))}, not an integer; give every image a "
                                 "unique integer id")
        iid = im["id"]
        where = f"{where} (id {iid})"
        if iid in sizes:
            raise CocoInputError(f"{where}: image id {iid} appears twice; image ids must be unique")
        problem = file_name_problem(im.get("file_name"))
        if problem is not None:
            raise CocoInputError(f"{where}: file_name {_show(im.get('file_name'))} {problem}; file_name must be "
                                 "a path relative to the dataset folder (or its images/), inside it")
        w, h = im.get("width"), im.get("height")
        if w is None and h is None and not require_size:
            sizes[iid] = None
            continue
        for key, v in (("width", w), ("height", h)):
            if not _is_int(v) or v <= 0:
                raise CocoInputError(f"{where}: '{key}' is {_show(v)}, not a positive integer; set the image's "
                                     "pixel width and height")
        sizes[iid] = (w, h)
    return sizes


def _check_annotation(k: int, a: Any, sizes: dict, cat_ids: set[int], ann_ids: set[int],
                      missing_id: list[dict]) -> None:
    """One annotation: an object with a unique integer id (or none: given one later, collected in
    ``missing_id``), ids of a listed image and category, a finite non-negative box inside its image, and valid
    optional fields (iscrowd, area, visibility; iscrowd and area filled in when absent)."""
    where = f"annotations[{k}]"
    if not isinstance(a, dict):
        raise CocoInputError(f"{where} is {_show(a)}, not an object; each annotation needs image_id, "
                             "category_id and bbox")
    if "id" in a:
        if not _is_int(a["id"]):
            raise CocoInputError(f"{where}: 'id' is {_show(a['id'])}, not an integer; give every annotation a "
                                 "unique integer id (or leave it out)")
        if a["id"] in ann_ids:
            raise CocoInputError(f"{where}: annotation id {a['id']} appears twice; annotation ids must be "
                                 "unique")
        ann_ids.add(a["id"])
        where = f"{where} (id {a['id']})"
    else:
        missing_id.append(a)
    for key in ("image_id", "category_id"):
        if not _is_int(a.get(key)):
            raise CocoInputError(f"{where}: '{key}' is {_show(a.get(key))}, not an integer; it must be the id "
                                 f"of an entry in {'images' if key == 'image_id' else 'categories'}")
    if a["image_id"] not in sizes:
        raise CocoInputError(f"{where}: image_id {a['image_id']} is not in images; fix the id or add the "
                             "image")
    if a["category_id"] not in cat_ids:
        raise CocoInputError(f"{where}: category_id {a['category_id']} is not in categories; fix the id or "
                             "add the category")
    bbox = a.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_num(v) for v in bbox)):
        raise CocoInputError(f"{where}: bbox is {_show(bbox)}; it must be [x, y, width, height], four "
                             "numbers in pixels")
    if not all(math.isfinite(v) for v in bbox):
        raise CocoInputError(f"{where}: bbox {bbox} has a NaN or infinite value; give finite pixel values")
    x, y, bw, bh = bbox
    if x < 0 or y < 0 or bw < 0 or bh < 0:
        raise CocoInputError(f"{where}: bbox {bbox} has a negative value; x, y, width and height must be >= 0 "
                             "(COCO boxes are [x, y, width, height] from the top-left corner)")
    size = sizes[a["image_id"]]
    if size is not None:
        box_in_image(bbox, size[0], size[1], where)
    if "iscrowd" in a and a["iscrowd"] not in (0, 1):
        raise CocoInputError(f"{where}: iscrowd is {_show(a['iscrowd'])}; use 0 or 1")
    for key in ("area", "visibility"):
        if key in a and a[key] is not None and not (_is_num(a[key]) and math.isfinite(a[key]) and a[key] >= 0):
            raise CocoInputError(f"{where}: {key} is {_show(a[key])}; give a finite number >= 0 (or leave it "
                                 "out)")
    a.setdefault("iscrowd", 0)
    if a.get("area") is None:
        a["area"] = float(bw) * float(bh)


def box_in_image(bbox: list, width: int, height: int, where: str) -> None:
    """Raise :class:`CocoInputError` when ``bbox`` (x, y, w, h) overhangs a ``width`` x ``height`` image by more
    than :data:`BOX_TOLERANCE_PX`."""
    x, y, bw, bh = bbox
    if x + bw > width + BOX_TOLERANCE_PX or y + bh > height + BOX_TOLERANCE_PX:
        raise CocoInputError(f"{where}: bbox {bbox} reaches outside its {width}x{height} image; boxes must lie "
                             "inside the image (x + width <= image width, y + height <= image height)")
