"""conf/, scenes/ and assets/ ship inside the wheel (simgen/_data/...) and are found from there."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_data_folders(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.skip(f"cannot build a wheel here (no build backend reachable?): {r.stderr[-300:]}")
    whl = next(tmp_path.glob("simgen-*.whl"))
    names = set(zipfile.ZipFile(whl).namelist())
    for must in ("simgen/_data/conf/render.yaml", "simgen/_data/scenes/default.yaml",
                 "simgen/_data/scenes/ycb_video.yaml", "simgen/_data/assets/README.md", "simgen/paths.py"):
        assert must in names
    ex = tmp_path / "x"
    zipfile.ZipFile(whl).extractall(ex)
    out = subprocess.run([sys.executable, "-c", "import simgen.paths as p; print(p.conf_dir())"],
                         capture_output=True, text=True, env={"PYTHONPATH": str(ex), "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path)
    assert out.stdout.strip() == str(ex / "simgen" / "_data" / "conf")
