"""COCO box evaluation with pycocotools: mAP@[.5:.95], AP50, AP75, small/medium/large, per-class AP, PR curves."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

METRIC_KEYS = ("map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar_1", "ar_10", "ar_100",
               "ar_small", "ar_medium", "ar_large")


@dataclass
class CocoEvalResult:
    """Summary metrics (NaN where undefined, e.g. no ground truth of that size) and per-class AP.

    ``per_class[name]`` holds ``ap``, ``ap50``, ``ap75`` and ``n_gt``; ``precision[name]`` is the
    101-point precision-vs-recall curve (float64 (101,)) at IoU 0.5 and ``recall_points`` its recall axis.
    """

    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]]
    precision: dict[str, np.ndarray] = field(default_factory=dict)
    precision_50_95: dict[str, np.ndarray] = field(default_factory=dict)
    recall_points: np.ndarray = field(default_factory=lambda: np.linspace(0, 1, 101))
    summary_text: str = ""


def _nan_if_neg(x: float) -> float:
    return float("nan") if x < 0 else float(x)


def evaluate_detections(gt: dict, detections: Sequence[dict], cat_ids: Sequence[int] | None = None,
                        names: dict[int, str] | None = None) -> CocoEvalResult:
    """Evaluate COCO-format ``detections`` (dicts with image_id, category_id, bbox [x, y, w, h], score)
    against the ground-truth COCO dict ``gt``, restricted to ``cat_ids`` (default: all categories)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = copy.deepcopy(gt)
    gt.setdefault("info", {})
    gt.setdefault("licenses", [])
    for a in gt.get("annotations", []):
        a.setdefault("iscrowd", 0)
        a.setdefault("area", float(a["bbox"][2] * a["bbox"][3]))
    names = names or {int(c["id"]): str(c["name"]) for c in gt["categories"]}
    cat_ids = sorted(int(c) for c in (cat_ids if cat_ids is not None else names))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
    n_gt = {c: len(coco_gt.getAnnIds(catIds=[c], iscrowd=False)) for c in cat_ids}
    dets = [d for d in detections if int(d["category_id"]) in set(cat_ids)]
    if not dets:
        log.warning("no detections to evaluate: every AP is 0")
        metrics = {k: 0.0 for k in METRIC_KEYS}
        per_class = {names[c]: {"ap": 0.0 if n_gt[c] else float("nan"), "ap50": 0.0 if n_gt[c] else float("nan"),
                                "ap75": 0.0 if n_gt[c] else float("nan"), "n_gt": n_gt[c]} for c in cat_ids}
        zeros = {names[c]: np.zeros(101) for c in cat_ids}
        return CocoEvalResult(metrics, per_class, zeros, dict(zeros), summary_text="no detections")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        coco_dt = coco_gt.loadRes([dict(d) for d in dets])
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.catIds = cat_ids
        ev.params.imgIds = sorted(coco_gt.getImgIds())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = ev.stats
    metrics = {k: _nan_if_neg(stats[i]) for i, k in enumerate(METRIC_KEYS)}
    prec = ev.eval["precision"]  # (T iou, R recall, K cats, A areas, M maxdets)
    iou = ev.params.iouThrs
    i50 = int(np.argmin(np.abs(iou - 0.5)))
    i75 = int(np.argmin(np.abs(iou - 0.75)))
    per_class: dict[str, dict[str, float]] = {}
    curves: dict[str, np.ndarray] = {}
    curves_all: dict[str, np.ndarray] = {}
    for k, c in enumerate(cat_ids):
        p = prec[:, :, k, 0, -1]

        def mean_valid(x: np.ndarray) -> float:
            x = x[x > -1]
            return float(x.mean()) if x.size else float("nan")

        per_class[names[c]] = {"ap": mean_valid(p), "ap50": mean_valid(p[i50]), "ap75": mean_valid(p[i75]),
                               "n_gt": n_gt[c]}
        curves[names[c]] = np.where(p[i50] > -1, p[i50], 0.0)
        pm = np.where(p > -1, p, np.nan)
        curves_all[names[c]] = np.nan_to_num(np.nanmean(pm, axis=0)) if np.isfinite(pm).any() else np.zeros(101)
    return CocoEvalResult(metrics, per_class, curves, curves_all, ev.params.recThrs.copy(), buf.getvalue())


def ground_truth_as_detections(gt: dict, score: float = 1.0) -> list[dict]:
    """The ground truth annotations of ``gt`` as COCO results (for tests: they score AP 1.0)."""
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": list(map(float, a["bbox"])),
             "score": score} for a in gt["annotations"] if not a.get("iscrowd", 0)]
