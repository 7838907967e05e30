"""The user's day (issue 17): honest progress (steady rate, start-up said apart), `simgen render --help` shows
only its own groups, third-party start-up noise stays out of the terminal unless SIMGEN_DEBUG=1."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest


def test_progress_reports_the_steady_rate_not_the_start_up(monkeypatch, caplog):
    from simgen.launch import progress as mod

    clock = {"t": 100.0}
    monkeypatch.setattr(mod.time, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr(mod.sys.stderr, "isatty", lambda: False, raising=False)
    with caplog.at_level(logging.INFO, logger="simgen.progress"):
        p = mod.Progress(8, log_every_s=0.0)
        clock["t"] += 12.0  # start-up: meshes, shaders, workers
        p.update()
        for _ in range(7):  # then 2 images per second
            clock["t"] += 0.5
            p.update()
    lines = [r.getMessage() for r in caplog.records]
    assert "first images after 12.0 s of start-up" in lines[0]
    assert lines[1] == "render: 2/8 (25.0%) 2.00 img/s, ETA 3 s"  # 6 left at 2 img/s (with start-up: 0.16/s)
    assert lines[-1].startswith("render: 8/8 (100.0%) 2.00 img/s")


def _simgen(*args: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SIMGEN_DEBUG", None)
    if debug:
        env["SIMGEN_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_render_help_lists_only_its_own_groups():
    r = _simgen("render", "--help")
    assert r.returncode == 0, r.stderr[-2000:]
    groups = r.stdout.split("== Config groups ==")[1].split("==")[0]
    assert "randomization/lighting" in groups and "executor" in groups
    for other in ("experiment:", "score:", "realism:", "hydra/"):
        assert other not in groups, groups


@pytest.mark.gl
@pytest.mark.slow
def test_third_party_start_up_noise_only_with_simgen_debug(tmp_path):
    args = ["render", "n_images=1", "render.width=64", "render.height=48", "export.preview=false"]
    quiet = _simgen(*args, f"output_dir={tmp_path / 'a'}")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    for noise in ("pybullet build time", "OpenGL_accelerate"):
        assert noise not in quiet.stdout + quiet.stderr
    loud = _simgen(*args, f"output_dir={tmp_path / 'b'}", debug=True)
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert "pybullet build time" in loud.stdout + loud.stderr
