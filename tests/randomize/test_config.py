"""Randomization config: presets compose from the command line, distributions validate and sample in range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.errors import ConfigError
from simgen.randomize.schema import FAMILIES, Dist, RandomizationConfig, validate_randomization


def test_default_is_moderate_and_off_is_the_dataclass_default(compose_cfg):
    cfg = compose_cfg()
    # the default is moderate for every family but defects (they add categories) and weather (indoors)
    assert cfg.randomization.enabled_families() == [f for f in FAMILIES if f not in ("defects", "weather")]
    off = compose_cfg("randomization=off").randomization
    assert off.enabled_families() == []
    assert off == RandomizationConfig()  # nothing but enabled: false differs from the library default


@pytest.mark.parametrize("preset", ["off", "moderate", "strong"])
def test_every_preset_composes_and_validates(compose_cfg, preset):
    r = compose_cfg(f"randomization={preset}").randomization
    validate_randomization(r)
    assert len(r.enabled_families()) == {"off": 0, "moderate": 7, "strong": 9}[preset]


def test_one_family_override(compose_cfg):
    r = compose_cfg("randomization/weather=strong").randomization
    assert r.weather.kind.p[0] == pytest.approx(0.1)  # strong: mostly bad weather
    assert r.lighting.enabled and r.lighting.n_lights.high == 3  # others stay moderate
    r = compose_cfg("randomization=off", "randomization/weather=strong").randomization
    assert r.enabled_families() == ["weather"]
    r = compose_cfg("randomization=strong", "randomization/defects=off").randomization
    assert "defects" not in r.enabled_families() and len(r.enabled_families()) == 8
    r = compose_cfg("randomization.lighting.intensity.high=9.5").randomization
    assert r.lighting.intensity.high == 9.5


@pytest.mark.parametrize("override", ["randomization.weather.nope=1", "randomization.nope.enabled=true",
                                      "randomization.lighting.intensity.low=bright",
                                      "randomization/weather=extreme", "randomization=wild"])
def test_unknown_keys_and_wrong_types_fail_at_compose(compose_cfg, override):
    with pytest.raises(Exception):
        compose_cfg(override)


def test_cli_precheck_names_the_key(capsys):
    from simgen.cli.main import precheck_overrides

    with pytest.raises(SystemExit) as e:
        precheck_overrides("render", ["randomization.weather.nope=1"])
    assert e.value.code == 2
    assert "randomization.weather.nope" in capsys.readouterr().err


@pytest.mark.parametrize("dist, kw, expect", [
    (Dist("uniform", low=5.0, high=2.0), {}, "low > high (5.0 > 2.0)"),
    (Dist("uniform", low=float("nan"), high=2.0), {}, "low must be a finite number"),
    (Dist("normal", mean=0.0, std=-1.0), {}, "std must be >= 0"),
    (Dist("normal", mean=float("inf"), std=1.0), {}, "mean must be a finite number"),
    (Dist("loguniform", low=0.0, high=1.0), {}, "loguniform needs low > 0"),
    (Dist("randint", low=1.5, high=3), {}, "whole numbers"),
    (Dist("uniform", low=1.0), {}, "needs 'high'"),
    (Dist("gamma"), {}, "unknown dist 'gamma'"),
    (Dist("choice", values=[]), {}, "non-empty 'values'"),
    (Dist("choice", values=[1, 2], p=[1.0]), {}, "p has 1 entries"),
    (Dist("choice", values=[1, 2], p=[-1.0, 2.0]), {}, "p must be finite"),
    (Dist("uniform", low=0.0, high=2.0), dict(max=1.0), "must be <= 1.0"),
    (Dist("normal", mean=0.5, std=0.1), dict(min=0.0), "must be >= 0.0"),
    (Dist("uniform", low=0.0, high=3.0), dict(integer=True), "whole numbers"),
    (Dist("choice", values=["fog", "hail"]), dict(numeric=False, allowed={"fog"}), "unknown value 'hail'"),
])
def test_bad_distributions_raise_config_errors_naming_the_key(dist, kw, expect):
    with pytest.raises(ConfigError) as e:
        dist.validate("randomization.x.y", **kw)
    assert str(e.value).startswith("randomization.x.y") and expect in str(e.value)


def test_validation_of_a_whole_config_names_the_family_key():
    r = RandomizationConfig()
    r.weather.fog_visibility = Dist("uniform", low=9.0, high=2.0)
    with pytest.raises(ConfigError, match=r"randomization\.weather\.fog_visibility: low > high"):
        validate_randomization(r)
    r = RandomizationConfig()
    r.defects.kind = Dist("choice", values=["scratch", "dent"])
    r.defects.categories = ["scratch"]
    with pytest.raises(ConfigError, match="defects.categories does not list"):
        validate_randomization(r)
    r = RandomizationConfig()
    r.background.image_dir = "/nonexistent/photos"
    with pytest.raises(ConfigError, match="image_dir"):
        validate_randomization(r)


def test_bad_distribution_fails_before_output_is_written(tmp_path, make_cfg):
    from simgen.run.job import render_dataset

    cfg = make_cfg()
    cfg.randomization.lighting.enabled = True
    cfg.randomization.lighting.intensity = Dist("uniform", low=5.0, high=1.0)
    with pytest.raises(ConfigError, match="randomization.lighting.intensity"):
        render_dataset(cfg)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dist, lo, hi", [
    (Dist("uniform", low=-2.0, high=3.0), -2.0, 3.0),
    (Dist("loguniform", low=0.01, high=10.0), 0.01, 10.0),
    (Dist("normal", mean=0.0, std=5.0, low=-4.0, high=4.0), -4.0, 4.0),
    (Dist("randint", low=2, high=5), 2, 5),
    (Dist("choice", values=[1.0, 7.0, 9.0], p=[0.2, 0.0, 0.8]), 1.0, 9.0),
])
def test_samples_stay_in_range_and_vary(dist, lo, hi):
    rng = np.random.default_rng(0)
    x = np.array([dist.sample(rng) for _ in range(3000)], np.float64)
    assert x.min() >= lo and x.max() <= hi
    assert x.std() > 0 and len(np.unique(x)) > 1
    if dist.dist == "randint":
        assert set(np.unique(x)) == {2, 3, 4, 5}
    if dist.dist == "choice":
        assert 7.0 not in x and abs((x == 9.0).mean() - 0.8) < 0.05
    if dist.dist == "loguniform":  # even in log space: the median near the geometric mean
        assert abs(math.log10(np.median(x)) + 0.5) < 0.1  # log10(sqrt(0.01 * 10))
