"""COCO loading errors and category matching (no torch)."""

from __future__ import annotations

import json
import logging

import pytest

from simgen.errors import ScoreError
from simgen.eval.data import load_coco, match_categories, subset_coco, training_targets


def test_invalid_json(toy_coco):
    root = toy_coco("bad")
    (root / "annotations.json").write_text('{"images": [1, 2,')
    with pytest.raises(ScoreError, match="not valid JSON"):
        load_coco(root, "synthetic")


def test_missing_annotations_and_folder(tmp_path):
    with pytest.raises(ScoreError, match="folder not found"):
        load_coco(tmp_path / "nope", "real")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScoreError, match="no annotations.json"):
        load_coco(tmp_path / "empty", "real")


def test_missing_image_files(toy_coco):
    root = toy_coco("missing", n_images=4)
    (root / "images" / "000002.png").unlink()
    with pytest.raises(ScoreError, match="1 of 4 image files are missing.*000002.png"):
        load_coco(root, "synthetic")


def test_zero_images(toy_coco):
    root = toy_coco("zero", n_images=2)
    coco = json.loads((root / "annotations.json").read_text())
    coco["images"], coco["annotations"] = [], []
    (root / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(ScoreError, match="zero images"):
        load_coco(root, "real")


def test_bad_references(toy_coco):
    root = toy_coco("ref", n_images=3)
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["category_id"] = 99
    (root / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(ScoreError, match="category_id 99 is not in categories"):
        load_coco(root, "real")


def test_category_mismatch_errors_clearly(toy_coco):
    syn = load_coco(toy_coco("s", categories=("red_box", "blue_disc")), "synthetic")
    real = load_coco(toy_coco("r", categories=("green_triangle",)), "real")
    with pytest.raises(ScoreError, match="no category names in common.*blue_disc.*green_triangle"):
        match_categories(real, [syn])


def test_partial_overlap_warns_and_keeps_common(toy_coco, caplog):
    syn = load_coco(toy_coco("s", categories=("red_box", "blue_disc")), "synthetic")
    real = load_coco(toy_coco("r", categories=("green_triangle", "Blue_Disc")), "real")
    with caplog.at_level(logging.WARNING):
        labels = match_categories(real, [syn])
    assert "scoring only the 1 common" in caplog.text
    assert labels.names == ("Blue_Disc",)
    assert labels.to_label["real"] == {2: 1} and labels.to_label["synthetic"] == {2: 1}
    recs = training_targets(syn, labels.to_label["synthetic"])
    assert all(set(r[2].tolist()) <= {1} for r in recs)
    assert len(recs) == len(syn)  # images without kept objects stay (negatives)


def test_min_visibility_and_subset(toy_coco, tmp_path):
    root = toy_coco("v", n_images=8)
    ds = load_coco(root, "synthetic")
    lab = {1: 1, 2: 2}
    n_all = sum(len(r[2]) for r in training_targets(ds, lab))
    n_vis = sum(len(r[2]) for r in training_targets(ds, lab, min_visibility=0.75))
    assert n_vis < n_all
    sub = subset_coco(root, tmp_path / "sub", lambda im: im["id"] % 2 == 0)
    ds2 = load_coco(sub, "subset")
    assert len(ds2) == 4 and all(a["image_id"] % 2 == 0 for a in ds2.annotations)
