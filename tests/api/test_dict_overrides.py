"""A distribution given on the command line for a key whose default is null (``randomization.camera.elevation_deg``,
``randomization.pose.upright_probability``) composes, through the CLI's precheck and through the Python API
(OmegaConf alone raises AttributeError there: omry/omegaconf#1360)."""

from __future__ import annotations

import subprocess
import sys

from simgen.cli.api import compose
from simgen.cli.overrides import lift_dict_overrides

ELEV = "randomization.camera.elevation_deg={dist: uniform, low: 12, high: 45}"
UPRIGHT = "randomization.pose.upright_probability={dist: const, value: 0.9}"


def test_lift_rewrites_only_dotted_dict_overrides():
    assert lift_dict_overrides([ELEV]) == ["randomization.camera={elevation_deg: {dist: uniform, low: 12, high: 45}}"]
    untouched = ["n_images=3", "scene=ycb_video", "render.width=64", "a={x: 1}", "+extra.key={x: 1}",
                 "~randomization.camera", "hydra.sweeper.params.seed={a: 1}", "randomization.camera.roll_deg=[1,2]",
                 "randomization.camera.elevation_deg={dist: const, value: 1},{dist: const, value: 2}"]
    assert lift_dict_overrides(untouched) == untouched


def test_compose_takes_a_distribution_for_a_null_key():
    cfg = compose("render", [ELEV, UPRIGHT])
    elev = cfg.randomization.camera.elevation_deg
    assert (elev.dist, elev.low, elev.high) == ("uniform", 12, 45)
    assert cfg.randomization.pose.upright_probability.value == 0.9
    # the rest of the family keeps its preset values
    assert cfg.randomization.camera.enabled is True
    assert cfg.randomization.camera.elevation_offset_deg.std == 6.0


def test_cli_accepts_a_distribution_for_a_null_key():
    out = subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", ELEV, "--cfg", "job"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # --cfg skips the precheck: run the precheck itself
    from simgen.cli.main import precheck_overrides

    precheck_overrides("render", lift_dict_overrides([ELEV, UPRIGHT, "n_images=2"]))
