"""`simgen score score=fid_only`: FID/KID and coverage without training a detector (tiny extractor: fast, offline),
per-phase timing in the report, and the quick preset's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _compose(*overrides: str):
    from hydra import compose, initialize_config_dir

    from simgen.cli.configs import register_all as register_configs
    from simgen.cli.configs import score_settings

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return score_settings(compose(config_name="score", overrides=list(overrides)).score)


def test_presets_fid_only_trains_nothing_and_quick_is_cheap():
    s = _compose("score=fid_only")
    assert s.detector == "none" and s.fid.enabled and s.coverage
    assert s.fid.extractor == "inception" and s.fid.resize == "bilinear_aa" and 100 <= s.fid.n <= 300
    q = _compose("score=quick")
    assert q.detector == "faster_rcnn" and q.rpn_proposals_test <= 100 and q.iterations <= 40 and q.fid.n <= 24


@pytest.mark.torch
def test_fid_only_report_says_no_detector_was_trained(toy_coco, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from simgen.eval import score_datasets
    from simgen.eval.fid import TinyFeatures

    syn = toy_coco("syn", n_images=10, size=(96, 64))
    real = toy_coco("real", n_images=5, size=(96, 64), seed=4, visibility=False)
    out = tmp_path / "fid"
    s = _compose("score=fid_only", "score.fid.extractor=tiny", "score.fid.kid_subsets=5")
    rep = score_datasets(syn, real, out, s, seed=3, device="cpu", extractor=TinyFeatures())
    assert rep["detector_trained"] is False and rep["detector"] == "none"
    assert rep["map"] is None and rep["ap50"] is None and rep["per_class"] == {} and rep["iterations"] == 0
    assert rep["fid"] is not None and rep["kid"] is not None
    assert rep["fid_info"]["n_synthetic"] == 10 and rep["fid_info"]["n_real"] == 5
    assert rep["fid_info"]["extractor"] == "tiny" and "bilinear_aa" in rep["fid_info"]["resize"]
    assert "no detector was trained" in rep["note"]
    assert rep["coverage"]["gaps"] and rep["n_test_objects"] > 0
    assert {"check_inputs", "fid_features", "coverage_stats"} <= rep["timing"].keys()
    assert "train" not in rep["timing"] and "detect_real" not in rep["timing"]
    assert all(v["cpu_s"] >= 0 and v["wall_s"] >= 0 for v in rep["timing"].values())
    md = (out / "report.md").read_text()
    assert "## No detector was trained" in md and "It has no mAP" in md and "mAP@[.5:.95] |" not in md
    assert "## Time per phase" in md
    names = sorted(p.name for p in out.iterdir())
    assert "detections.json" not in names and "checkpoints" not in names and "pr_curves.png" not in names
    assert "coverage_boxes.png" in names
    # same inputs + seed: same numbers
    rep2 = score_datasets(syn, real, tmp_path / "fid2", s, seed=3, device="cpu", extractor=TinyFeatures())
    assert (rep2["fid"], rep2["kid"], rep2["coverage"]) == (rep["fid"], rep["kid"], rep["coverage"])


@pytest.mark.torch
def test_fid_only_cli_end_to_end(toy_coco, tmp_path):
    pytest.importorskip("torch")
    syn = toy_coco("syn", n_images=8, size=(96, 64))
    real = toy_coco("real", n_images=4, size=(96, 64), seed=4, visibility=False)
    out = tmp_path / "fid"
    env = dict(os.environ, SIMGEN_NO_PROGRESS="1")
    env.pop("SIMGEN_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "score", "score=fid_only",
                        f"synthetic_dir={syn}", f"real_dir={real}", f"output_dir={out}",
                        "score.fid.extractor=tiny", "score.fid.kid_subsets=5"],
                       capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "no detector trained" in r.stdout + r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["detector_trained"] is False and rep["map"] is None and rep["kid"] is not None
    assert not list(tmp_path.glob("**/.hydra"))


@pytest.mark.torch
def test_fid_only_needs_a_synthetic_set(toy_coco, tmp_path):
    from simgen.errors import ScoreError
    from simgen.eval.score import load_inputs

    real = toy_coco("real", n_images=3)
    with pytest.raises(ScoreError, match="compares synthetic_dir with real_dir"):
        load_inputs(None, real, tmp_path / "o", _compose("score=fid_only"))
