"""Exact labels from the instance-id map (pure numpy, no engine).

bbox_xywh is the extent of the visible pixels (COCO: x, y = top-left pixel, w, h in pixels, so a single pixel at
(3, 5) is [3, 5, 1, 1]); area is the visible pixel count; visibility = visible pixels / pixels of the object
rendered alone from the same camera; truncation = fraction of the object's silhouette outside the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class Instance:
    instance_id: int
    category: str
    bbox_xywh: tuple[float, float, float, float]
    area: int
    visibility: float
    truncation: float
    # visible mask inside the bbox: (h, w) bool, top-left at (bbox x, bbox y)
    mask_crop: np.ndarray

    def full_mask(self, height: int, width: int) -> np.ndarray:
        """(height, width) bool visible mask."""
        m = np.zeros((height, width), bool)
        x, y, w, h = (int(v) for v in self.bbox_xywh)
        m[y:y + h, x:x + w] = self.mask_crop
        return m


def instance_stats(instance_ids: np.ndarray) -> dict[int, tuple[int, int, int, int, int]]:
    """Per id > 0: (area, x0, y0, x1, y1) with inclusive pixel bounds. instance_ids: (H, W) int."""
    ys, xs = np.nonzero(instance_ids > 0)
    if len(ys) == 0:
        return {}
    vals = instance_ids[ys, xs]
    order = np.argsort(vals, kind="stable")
    vals, ys, xs = vals[order], ys[order], xs[order]
    uniq, starts, counts = np.unique(vals, return_index=True, return_counts=True)
    x0 = np.minimum.reduceat(xs, starts)
    x1 = np.maximum.reduceat(xs, starts)
    y0 = np.minimum.reduceat(ys, starts)
    y1 = np.maximum.reduceat(ys, starts)
    return {int(u): (int(c), int(a), int(b), int(cc), int(d))
            for u, c, a, b, cc, d in zip(uniq, counts, x0, y0, x1, y1)}


def occlusion_candidates(instance_ids: np.ndarray, depth: np.ndarray) -> set[int]:
    """Ids that may be occluded by another instance: some 4-neighbour pixel belongs to another instance that is
    closer to the camera. An id not returned is certainly not occluded by any instance, so its visible mask equals
    its mask when rendered alone (no extra render needed).

    instance_ids: (H, W) int32; depth: (H, W) float32 metres.
    """
    out: set[int] = set()
    for a_ids, b_ids, a_d, b_d in (
        (instance_ids[:, :-1], instance_ids[:, 1:], depth[:, :-1], depth[:, 1:]),
        (instance_ids[:-1, :], instance_ids[1:, :], depth[:-1, :], depth[1:, :]),
    ):
        diff = (a_ids != b_ids) & (a_ids > 0) & (b_ids > 0)
        if not diff.any():
            continue
        a, b, da, db = a_ids[diff], b_ids[diff], a_d[diff], b_d[diff]
        out.update(np.unique(a[db < da]).tolist())  # b in front of a
        out.update(np.unique(b[da < db]).tolist())
    return out


def border_touching(stats: dict[int, tuple[int, int, int, int, int]], height: int, width: int) -> set[int]:
    return {i for i, (_, x0, y0, x1, y1) in stats.items()
            if x0 == 0 or y0 == 0 or x1 == width - 1 or y1 == height - 1}


def extract(instance_ids: np.ndarray, categories: dict[int, str], amodal_areas: dict[int, int],
            truncation: dict[int, float], min_visibility: float = 0.1, min_area: int = 1,
            stats: Optional[dict] = None) -> list[Instance]:
    """Labelled instances of one frame, sorted by instance id.

    instance_ids: (H, W) int32, 0 = background. categories: {instance_id: category} for labelled instances
    (distractors are absent and never exported). amodal_areas: {instance_id: pixels when rendered alone} for
    instances that may be occluded (others are fully visible). truncation: {instance_id: fraction outside image}.
    Objects with visibility < min_visibility or area < min_area are dropped.
    """
    if stats is None:
        stats = instance_stats(instance_ids)
    out: list[Instance] = []
    for iid in sorted(stats):
        if iid not in categories:
            continue
        area, x0, y0, x1, y1 = stats[iid]
        amodal = amodal_areas.get(iid, area)
        vis = 1.0 if amodal <= 0 else min(1.0, area / amodal)
        if area < min_area or vis < min_visibility:
            continue
        crop = instance_ids[y0:y1 + 1, x0:x1 + 1] == iid
        out.append(Instance(instance_id=iid, category=categories[iid],
                            bbox_xywh=(float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)),
                            area=int(area), visibility=round(float(vis), 4),
                            truncation=round(float(truncation.get(iid, 0.0)), 4), mask_crop=crop))
    return out
