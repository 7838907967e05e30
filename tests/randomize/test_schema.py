"""Randomization config: distributions, validation, presets and their Hydra overrides (no GL)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from simgen.errors import ConfigError
from simgen.randomize.rngs import family_rng
from simgen.randomize.schema import FAMILIES, Dist, RandomizationConfig, validate_randomization


def compose(*overrides: str):
    from hydra import compose as hcompose, initialize_config_dir

    from simgen.config import register_configs
    from simgen.paths import conf_dir

    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = hcompose(config_name="render", overrides=list(overrides))
    return OmegaConf.to_object(cfg)


def test_default_is_all_off_and_valid():
    cfg = RandomizationConfig()
    assert cfg.enabled_families() == []
    validate_randomization(cfg)


@pytest.mark.parametrize("dist, msg", [
    (Dist("uniform", low=2.0, high=1.0), "low > high"),
    (Dist("uniform", low=math.nan, high=1.0), "nan"),
    (Dist("gauss", low=0.0, high=1.0), "unknown dist"),
])
def test_bad_distribution_names_key_and_fix(dist, msg):
    cfg = RandomizationConfig()
    cfg.lighting.intensity = dist
    with pytest.raises(ConfigError) as e:
        validate_randomization(cfg)
    assert "randomization.lighting.intensity" in str(e.value)
    assert msg.lower() in str(e.value).lower()


def test_dist_sampling():
    rng = np.random.default_rng(0)
    assert Dist("const", value=3.0).sample(rng) == 3.0
    assert 1.0 <= Dist("uniform", low=1.0, high=2.0).sample(rng) <= 2.0
    assert Dist("randint", low=2, high=2).sample(rng) == 2
    assert Dist("choice", values=["a", "b"], p=[0.0, 1.0]).sample(rng) == "b"
    assert -1.0 <= Dist("normal", mean=0.0, std=100.0, low=-1.0, high=1.0).sample(rng) <= 1.0


def test_family_rng_does_not_advance_the_sample_rng():
    a = np.random.Generator(np.random.PCG64(np.random.SeedSequence([0, 5])))
    b = np.random.Generator(np.random.PCG64(np.random.SeedSequence([0, 5])))
    r1 = family_rng(a, "weather", "after_render").random()
    assert a.random() == b.random()
    r2 = family_rng(a, "weather", "after_render").random()
    assert r1 == r2  # deterministic
    assert family_rng(a, "sensor", "after_render").random() != r1


@pytest.mark.parametrize("preset", ["off", "moderate", "strong"])
def test_group_presets(preset):
    r = compose(f"randomization={preset}").randomization
    validate_randomization(r)
    on = r.enabled_families()
    assert on == ([] if preset == "off" else list(FAMILIES))


def test_default_is_moderate_and_one_family_override():
    assert compose().randomization.enabled_families() == list(FAMILIES)
    r = compose("randomization=off", "randomization/weather=strong").randomization
    assert r.enabled_families() == ["weather"]
    strong = compose("randomization=strong").randomization.weather
    assert r.weather == strong
    r = compose("randomization=off", "randomization.sensor.enabled=true").randomization
    assert r.enabled_families() == ["sensor"]


@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("preset", ["off", "moderate", "strong"])
def test_every_family_preset_loads(fam, preset):
    r = compose("randomization=off", f"randomization/{fam}={preset}").randomization
    validate_randomization(r)
    assert getattr(r, fam).enabled == (preset != "off")


def test_unknown_key_and_wrong_type_fail():
    with pytest.raises(Exception):
        compose("randomization.weather.bogus=1")
    with pytest.raises(Exception):
        compose("randomization.weather.enabled=maybe")


def test_cli_precheck_reports_bad_values():
    out = subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", "n_images=1",
                          "randomization.weather.fog_visibility.low=99", "output_dir=/nonexistent/x"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "randomization.weather.fog_visibility" in out.stderr


def test_randomize_imports_no_engine():
    code = ("import sys, pkgutil, importlib, simgen.randomize, simgen.randomize.families as f\n"
            "for m in ['pipeline','schema','scene_sampler','imaging','rngs','geometry']:\n"
            "    importlib.import_module('simgen.randomize.' + m)\n"
            "for m in pkgutil.iter_modules(f.__path__):\n"
            "    importlib.import_module('simgen.randomize.families.' + m.name)\n"
            "bad = [m for m in ('pyrender', 'pybullet', 'OpenGL', 'torch') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_fog_converges_to_fog_colour_far_away():
    from simgen.randomize.families.weather import fog
    from simgen.scene.model import Camera

    cam = Camera(fx=100, fy=100, cx=8, cy=6, width=16, height=12, znear=0.01, zfar=10)
    rgb = np.full((12, 16, 3), 200, np.uint8)
    depth = np.zeros((12, 16), np.float32)
    depth[:, :8] = 0.1  # near geometry; right half: nothing rendered (= far)
    out = fog(rgb, depth, cam, visibility=5.0, colour=(0.5, 0.5, 0.5))
    assert np.allclose(out[:, 8:], 127.5)
    assert np.all(np.abs(out[:, :8] - 200) < 15)


def test_kelvin_to_rgb():
    from simgen.randomize.imaging import kelvin_to_rgb

    warm, cold = kelvin_to_rgb(2500), kelvin_to_rgb(12000)
    assert warm[0] > warm[2] and cold[2] > cold[0]
    assert np.allclose(kelvin_to_rgb(6600), 1.0, atol=0.03)
