"""sweep-summary on fake report.json files: a 2-point sweep table, ablation deltas, CSV/markdown/plots, CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest


def _job(root: Path, num: int, overrides: list[str], *, ablate=None, m=None, fid=None, kid=None, spi=0.5,
         status="ok") -> None:
    d = root / str(num)
    (d / "score").mkdir(parents=True)
    rep = {"kind": "simgen-experiment", "version": 1, "status": status, "name": "",
           "job": {"num": num, "overrides": overrides}, "ablate": ablate,
           "render": {"images": 8, "seconds_per_image": spi}}
    if m is not None:
        rep["score"] = {"map": m, "ap50": m * 2, "fid": fid, "kid": kid, "headline_distance": "kid"}
    (d / "report.json").write_text(json.dumps(rep))
    (d / "score" / "report.json").write_text(json.dumps({"map": 0.99}))  # the score's own report: not a row


def test_two_point_sweep_table(tmp_path):
    from simgen.sweep.summary import write_summary

    _job(tmp_path, 0, ["randomization/lighting=off", "real_dir=/r", "n_images=8"], m=0.10, fid=80.0, kid=0.05)
    _job(tmp_path, 1, ["randomization/lighting=strong", "real_dir=/r", "n_images=8"], m=0.20, fid=70.0, kid=0.04)
    s = write_summary(tmp_path, plots=False)
    assert s["keys"] == ["randomization/lighting"]  # constant keys and paths are not settings
    assert [r["setting"] for r in s["rows"]] == ["randomization/lighting=off", "randomization/lighting=strong"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert [(r["randomization/lighting"], float(r["map"]), float(r["fid"])) for r in rows] == [
        ("off", 0.10, 80.0), ("strong", 0.20, 70.0)]
    md = (tmp_path / "summary.md").read_text()
    assert "| 0 | ok | off | 8 | 0.100 | 0.200 | 80.00 | 0.0500 | 0.500 |" in md
    assert "| 1 | ok | strong |" in md
    assert s["ablation"] == [] and not (tmp_path / "ablation.csv").exists()


def test_ablation_deltas_vs_the_full_set(tmp_path):
    from simgen.sweep.summary import write_summary

    _job(tmp_path, 0, ["ablate=none"], m=0.30, fid=60.0, kid=0.03, spi=1.0)
    _job(tmp_path, 1, ["ablate=lighting"], ablate="lighting", m=0.20, fid=65.0, kid=0.035, spi=0.9)
    _job(tmp_path, 2, ["ablate=weather"], ablate="weather", m=0.35, fid=50.0, kid=0.02, spi=0.7)
    _job(tmp_path, 3, ["ablate=pose"], ablate="pose", status="failed")
    s = write_summary(tmp_path, plots=False)
    d = {x["family"]: x for x in s["ablation"]}
    assert d["lighting"]["d_map"] == pytest.approx(-0.10)
    assert d["lighting"]["d_fid"] == pytest.approx(5.0)
    assert d["lighting"]["d_s_per_img"] == pytest.approx(-0.1)
    assert d["weather"]["d_map"] == pytest.approx(0.05) and d["weather"]["d_kid"] == pytest.approx(-0.01)
    assert d["pose"]["d_map"] is None
    md = (tmp_path / "summary.md").read_text()
    assert "## Ablation" in md and "helps mAP" in md and "hurts mAP" in md and "3: failed" in md
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ablation.csv").read_text())))
    assert {r["family"] for r in rows} == {"lighting", "weather", "pose"}


def test_ablation_crossed_with_another_key_pairs_the_right_baselines(tmp_path):
    from simgen.sweep.summary import summarize, collect_reports

    _job(tmp_path, 0, ["seed=0", "ablate=none"], m=0.3)
    _job(tmp_path, 1, ["seed=0", "ablate=lighting"], ablate="lighting", m=0.1)
    _job(tmp_path, 2, ["seed=1", "ablate=none"], m=0.5)
    _job(tmp_path, 3, ["seed=1", "ablate=lighting"], ablate="lighting", m=0.4)
    s = summarize(collect_reports(tmp_path))
    assert sorted((x["setting"], round(x["d_map"], 6)) for x in s["ablation"]) == [("seed=0", -0.2),
                                                                                  ("seed=1", -0.1)]


def test_plots_and_cli(tmp_path):
    pytest.importorskip("matplotlib")
    _job(tmp_path, 0, ["ablate=none"], m=0.30, fid=60.0, kid=0.03)
    _job(tmp_path, 1, ["ablate=lighting"], ablate="lighting", m=0.20, fid=65.0, kid=0.035)
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "sweep-summary", str(tmp_path), "--out",
                        str(tmp_path / "sum")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "| lighting |" in r.stdout
    for name in ("summary.csv", "summary.md", "summary.json", "ablation.csv", "summary.png", "map.png", "fid_kid.png",
                 "ablation.png"):
        assert (tmp_path / "sum" / name).is_file(), name
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "sweep-summary", str(tmp_path / "sum")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no experiment report.json" in r.stderr
