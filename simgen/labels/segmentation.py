"""Masks -> COCO segmentation (polygons or uncompressed RLE). Pure numpy + OpenCV contour tracing."""

from __future__ import annotations

import numpy as np


def mask_to_polygons(mask_crop: np.ndarray, x0: int, y0: int) -> list[list[float]]:
    """Outer contours of a (h, w) bool mask as COCO polygons in image pixels.

    Traced on the 2x-upsampled mask so the polygon runs along pixel edges: rasterising it back with pycocotools
    gives the same pixels (holes are filled: polygons cannot express them; use RLE for exact holes).
    """
    import cv2

    m = np.ascontiguousarray(mask_crop, dtype=np.uint8)
    big = np.repeat(np.repeat(m, 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.float64) / 2.0 + np.array([x0, y0], np.float64)
        if len(pts) < 3:
            continue
        polys.append([round(float(v), 2) for v in pts.ravel()])
    return polys


def mask_to_rle(mask: np.ndarray) -> dict:
    """(H, W) bool mask -> COCO uncompressed RLE {"size": [H, W], "counts": [...]} (column-major runs,
    starting with the count of zeros)."""
    h, w = mask.shape
    flat = np.asarray(mask, dtype=np.uint8).ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0] + counts
    return {"size": [int(h), int(w)], "counts": [int(c) for c in counts]}
