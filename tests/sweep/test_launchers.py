"""Config-level checks of the experiment presets: launcher presets resolve to their plugins, experiment=ablation
is a multirun over every randomization family, job folder names stay one safe folder."""

from __future__ import annotations

import pytest


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import simgen.cli.experiment  # noqa: F401  (registers schemas and the job-dir resolver)
    from simgen.paths import conf_dir

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(config_name="experiment", overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def test_ablation_preset_sweeps_every_family():
    from simgen.sweep.schema import FAMILIES

    cfg = _compose(["experiment=ablation"])
    assert str(cfg.hydra.mode).endswith("MULTIRUN")
    params = cfg.hydra.sweeper.params.ablate.split(",")
    assert params[0] == "none" and sorted(params[1:]) == sorted(FAMILIES)


def test_joblib_preset():
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    cfg = _compose(["hydra/launcher=local_parallel"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == 2


def test_slurm_preset():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                        reason="pip install 'simgen[sweep]' (hydra-submitit-launcher)")
    cfg = _compose(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"])
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.timeout_min == 240 and cfg.hydra.launcher.partition == "gpu"


def test_job_dir_names_are_one_safe_folder():
    from simgen.cli.experiment import job_dir_name

    assert job_dir_name(3, "randomization/lighting=off,seed=1") == "3_randomization-lighting=off,seed=1"
    assert job_dir_name(0, "") == "0"
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    a, b = job_dir_name(7, long_a), job_dir_name(7, long_b)
    assert len(a) <= 102 and a != b and "/" not in a


def test_experiment_config_has_the_render_keys_and_score_node():
    from omegaconf import OmegaConf, open_dict

    from simgen.config import RenderAppConfig
    from simgen.sweep.schema import render_config

    cfg = _compose(["ablate=lighting", "score=quick", "n_images=3", "randomization/weather=strong"])
    with open_dict(cfg):
        del cfg["hydra"]
    ecfg = OmegaConf.to_object(cfg)
    assert ecfg.score.iterations == 40  # the quick preset of simgen score
    rc = render_config(ecfg, "/tmp/x")
    assert isinstance(rc, RenderAppConfig) and type(rc) is RenderAppConfig
    assert rc.n_images == 3 and rc.output_dir == "/tmp/x"
    assert not rc.randomization.lighting.enabled and ecfg.randomization.lighting.enabled  # ablated copy only
    assert rc.randomization.weather.enabled
