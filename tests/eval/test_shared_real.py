"""Checks against the real development set (../shared/real/ycbv_dev); skipped when it is absent."""

from __future__ import annotations

import json
import logging

import os
from pathlib import Path

import numpy as np
import pytest

from simgen.eval.data import load_coco, match_categories


def shared_dir() -> Path | None:
    """``$SIMGEN_SHARED`` or ``<repo>/../shared`` when it exists."""
    env = os.environ.get("SIMGEN_SHARED")
    p = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared"
    return p if p.is_dir() else None


SHARED = shared_dir()
REAL = SHARED / "real" / "ycbv_dev" if SHARED else None
pytestmark = pytest.mark.skipif(REAL is None or not (REAL / "annotations.json").is_file(),
                                reason="../shared/real/ycbv_dev not present (set SIMGEN_SHARED)")


def test_real_dev_set_loads_and_golden_ap():
    pytest.importorskip("pycocotools")
    from simgen.eval.coco_eval import evaluate_detections, ground_truth_as_detections

    real = load_coco(REAL, "real")
    assert len(real) == 40 and len(real.categories) == 6
    res = evaluate_detections(real.coco, ground_truth_as_detections(real.coco))
    assert res.metrics["map"] == pytest.approx(1.0)
    # two classes have no objects in this split: their AP is undefined, not 0
    assert sum(1 for pc in res.per_class.values() if pc["n_gt"] == 0) == 2
    assert all(np.isnan(pc["ap"]) for pc in res.per_class.values() if pc["n_gt"] == 0)


def test_partial_category_overlap_with_real(toy_coco, caplog):
    real = load_coco(REAL, "real")
    syn = load_coco(toy_coco("syn", n_images=4, categories=("003_cracker_box", "toy_thing")), "synthetic")
    with caplog.at_level(logging.WARNING):
        labels = match_categories(real, [syn])
    assert labels.names == ("003_cracker_box",)
    assert "toy_thing" in caplog.text


def test_coverage_stats_on_real():
    from simgen.eval.coverage import coverage_gaps, set_stats

    real = load_coco(REAL, "real")
    names = real.category_names()
    st = set_stats(real, names, max_images=10, rng=np.random.default_rng(0))
    assert len(st.scale) == 100 and len(st.brightness) == 10
    gaps = coverage_gaps(st, st)
    assert gaps and all(g["real_outside"] <= 0.03 for g in gaps)
    assert json.dumps([g["quantity"] for g in gaps])
