"""pycocotools evaluation: ground truth fed back scores 1.0, shuffled boxes near 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from simgen.eval.coco_eval import evaluate_detections, ground_truth_as_detections  # noqa: E402


def test_ground_truth_as_detections_gives_map_one(toy_coco):
    gt = json.loads((toy_coco("gt", n_images=10) / "annotations.json").read_text())
    res = evaluate_detections(gt, ground_truth_as_detections(gt))
    assert res.metrics["map"] == pytest.approx(1.0)
    assert res.metrics["ap50"] == pytest.approx(1.0)
    assert res.metrics["ap75"] == pytest.approx(1.0)
    for pc in res.per_class.values():
        assert pc["ap"] == pytest.approx(1.0)
    assert set(res.per_class) == {"red_box", "blue_disc"}


def test_shuffled_boxes_score_near_zero(toy_coco):
    gt = json.loads((toy_coco("gt", n_images=12) / "annotations.json").read_text())
    dets = ground_truth_as_detections(gt)
    rng = np.random.default_rng(0)
    # move every box to another image and far from its place: no detection overlaps its object
    ids = [im["id"] for im in gt["images"]]
    for d in dets:
        d["image_id"] = int(rng.choice([i for i in ids if i != d["image_id"]]))
        x, y, w, h = d["bbox"]
        d["bbox"] = [float((x + 80) % 160), float((y + 60) % 120), w, h]
    res = evaluate_detections(gt, dets)
    assert res.metrics["map"] < 0.1


def test_wrong_class_scores_zero_and_empty_detections(toy_coco):
    gt = json.loads((toy_coco("gt", n_images=8) / "annotations.json").read_text())
    dets = ground_truth_as_detections(gt)
    for d in dets:
        d["category_id"] = 3 - d["category_id"]
    assert evaluate_detections(gt, dets).metrics["map"] < 0.1
    res = evaluate_detections(gt, [])
    assert res.metrics["map"] == 0.0


def test_restricting_categories(toy_coco):
    gt = json.loads((toy_coco("gt", n_images=10) / "annotations.json").read_text())
    dets = [d for d in ground_truth_as_detections(gt) if d["category_id"] == 1]
    res = evaluate_detections(gt, dets, cat_ids=[1])
    assert res.metrics["map"] == pytest.approx(1.0)
    assert list(res.per_class) == ["red_box"]
