"""Fixtures of the randomization tests: Hydra-composed configs (as `simgen render` composes them)."""

from __future__ import annotations

import pytest


def _compose(*overrides: str):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from simgen.config import register_configs
    from simgen.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return OmegaConf.to_object(compose("render", overrides=list(overrides)))
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture
def compose_cfg():
    """compose_cfg("randomization=strong", "scene=default", ...) -> RenderAppConfig."""
    return _compose
