"""`simgen experiment` under Hydra multirun: the joblib launcher runs 2 jobs in parallel, each writes its dataset and
report.json into its own job folder, and sweep-summary tabulates them. The slow test scores for real (tiny)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gl, pytest.mark.slow]

TINY = ["n_images=2", "shard_size=2", "render.width=160", "render.height=120", "export.depth=false",
        "export.preview=false"]


def _job(sweep: Path, k: int) -> Path:
    """Job k's folder: hydra.sweep.subdir is ${hydra.job.num}_${hydra.job.override_dirname}."""
    (d,) = [p for p in sweep.iterdir() if p.is_dir() and p.name.split("_", 1)[0] == str(k)]
    return d


def _simgen(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SIMGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_joblib_launcher_two_jobs_and_summary(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install hydra-joblib-launcher")
    sweep = tmp_path / "sweep"
    r = _simgen("experiment", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=0,1", "run_score=false",
                *TINY, f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr[-3000:]
    reports = [json.loads((_job(sweep, k) / "report.json").read_text()) for k in (0, 1)]
    assert [x["status"] for x in reports] == ["ok", "ok"]
    assert [x["seed"] for x in reports] == [0, 1]
    assert {x["job"]["launcher"] for x in reports} == {"joblib"}
    for k in (0, 1):
        coco = json.loads((_job(sweep, k) / "synthetic" / "annotations.json").read_text())
        assert len(coco["images"]) == 2
        assert (_job(sweep, k) / ".hydra" / "overrides.yaml").is_file()
        assert (_job(sweep, k) / "experiment.log").is_file()
    a, b = ((_job(sweep, k) / "synthetic" / "images" / "000001.png").read_bytes() for k in (0, 1))
    assert a != b  # each job rendered its own seed

    r = _simgen("sweep-summary", str(sweep), "--no-plots")
    assert r.returncode == 0, r.stderr
    md = (sweep / "summary.md").read_text()
    assert "swept: seed" in md and "| 0 | ok | 0 | 2 |" in md and "| 1 | ok | 1 | 2 |" in md


@pytest.mark.slow
@pytest.mark.torch
def test_ablation_sweep_renders_scores_and_summarizes(tmp_path):
    """experiment=ablation restricted to two points (full set, lighting off), real scoring at toy scale."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:  # never import torch here: GL already in this process
        pytest.skip("needs torchvision")
    real = tmp_path / "real"
    r = _simgen("render", *TINY, "n_images=4", "seed=99", "randomization=off", f"output_dir={real}")
    assert r.returncode == 0, r.stderr[-2000:]
    sweep = tmp_path / "abl"
    r = _simgen("experiment", "experiment=ablation", "hydra.sweeper.params.ablate='none,lighting'", *TINY,
                f"real_dir={real}", "score=quick", "score.iterations=2", "score.warmup_iters=1",
                "score.image_size=128", "score.fid.extractor=tiny", "score.fid.n=4", "score.fid.kid_subsets=2",
                "score.coverage=false", "score.n_draw=0", "device=cpu", f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr[-3000:]
    reps = [json.loads((_job(sweep, k) / "report.json").read_text()) for k in (0, 1)]
    assert [x["ablate"] for x in reps] == [None, "lighting"]
    assert reps[0]["randomization"]["lighting"] and not reps[1]["randomization"]["lighting"]
    assert all(x["status"] == "ok" and x["score"]["map"] is not None for x in reps)
    assert (_job(sweep, 0) / "score" / "report.json").is_file()
    r = _simgen("sweep-summary", str(sweep), "--no-plots")
    assert r.returncode == 0, r.stderr
    rows = (sweep / "ablation.csv").read_text().splitlines()
    assert rows[1].startswith("lighting,") and len(rows) == 2
    ab = json.loads((sweep / "summary.json").read_text())["ablation"][0]
    assert ab["d_map"] == pytest.approx(reps[1]["score"]["map"] - reps[0]["score"]["map"])
