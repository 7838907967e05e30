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


SHARP = "randomization.sensor.sharpen_probability={dist: const, value: 0.7}"
NOISE = "randomization.sensor.read_noise={dist: uniform, low: 0, high: 4}"
DIST = "randomization.camera.distance_scale={dist: uniform, low: 0.7, high: 1.0}"


def test_lifted_overrides_of_one_family_become_one():
    lifted = lift_dict_overrides(["n_images=3", SHARP, ELEV, NOISE, "seed=1", DIST])
    assert lifted == ["n_images=3",
                      "randomization.sensor={sharpen_probability: {dist: const, value: 0.7}, "
                      "read_noise: {dist: uniform, low: 0, high: 4}}",
                      "randomization.camera={elevation_deg: {dist: uniform, low: 12, high: 45}, "
                      "distance_scale: {dist: uniform, low: 0.7, high: 1.0}}",
                      "seed=1"]
    # a leaf given twice keeps the later value, as Hydra would
    again = "randomization.sensor.read_noise={dist: const, value: 1}"
    assert lift_dict_overrides([NOISE, again]) == ["randomization.sensor={read_noise: {dist: const, value: 1}}"]


def test_a_multirun_keeps_every_dict_override_of_a_family():
    """Hydra's multirun sweeper keeps one override per key: two lifted overrides of one family used to lose the
    first (an experiment ran without its sharpening). Split the way ``simgen experiment`` / ``simgen sweep`` do,
    then compose the job: both values are there."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = lift_dict_overrides([SHARP, NOISE, ELEV, DIST, UPRIGHT, "seed=0,1"])
    batches = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(args), None)
    jobs = [job for batch in batches for job in batch]
    assert len(jobs) == 2
    for job in jobs:
        r = compose("render", list(job)).randomization
        assert (r.sensor.sharpen_probability.value, r.sensor.read_noise.high) == (0.7, 4)
        assert (r.camera.elevation_deg.low, r.camera.distance_scale.low) == (12, 0.7)
        assert r.pose.upright_probability.value == 0.9
        assert r.camera.elevation_offset_deg.std == 6.0  # the rest of the family keeps its preset values
