"""The Python API behaves exactly as the command line: same defaults, same bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gl

ARGS = dict(n_images=3, seed=2)
OVERRIDES = ["render.width=96", "render.height=72", "shard_size=2"]


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".simgen" not in p.parts}


def test_api_and_cli_make_the_same_bytes(tmp_path):
    import simgen

    res = simgen.render("default", output_dir=str(tmp_path / "api"), overrides=OVERRIDES, **ARGS)
    assert res.output_dir == tmp_path / "api" and res.images == 3 and res.annotations > 0
    assert res.annotations_file.is_file()
    cli = [sys.executable, "-m", "simgen.cli.main", "render", "scene=default", "n_images=3", "seed=2",
           f"output_dir={tmp_path / 'cli'}", *OVERRIDES]
    subprocess.run(cli, check=True, capture_output=True, timeout=300)
    a, b = _hashes(tmp_path / "api"), _hashes(tmp_path / "cli")
    man_a, man_b = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("api", "cli"))
    assert man_a["config"] == man_b["config"]  # the same composed config, defaults included
    assert man_a["config"]["randomization"]["lighting"]["enabled"]  # moderate, like the CLI
    a.pop("manifest.json"), b.pop("manifest.json")  # records versions/GL, equal configs checked above
    assert a == b


def test_api_errors_are_simgen_errors(tmp_path):
    import simgen

    with pytest.raises(simgen.SimgenError, match="n_images must be >= 1"):
        simgen.render("default", n_images=0, output_dir=str(tmp_path / "x"))
    with pytest.raises(simgen.SimgenError, match="invalid overrides"):
        simgen.render("default", output_dir=str(tmp_path / "x"), overrides=["render.no_such_key=1"])
    assert not (tmp_path / "x").exists()


def test_api_default_output_folder_is_named_after_the_scene(tmp_path, monkeypatch):
    from simgen.cli.api import compose

    scene = tmp_path / "sub" / "my_scene.yaml"
    scene.parent.mkdir()
    scene.write_text((Path(__file__).resolve().parents[2] / "scenes" / "default.yaml").read_text())
    assert compose("render", [f"scene={scene}"]).output_dir == "out/my_scene"
    assert compose("render", ["scene=ycb_video"]).output_dir == "out/ycb_video"
