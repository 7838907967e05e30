"""Shared fixtures. GL tests need EGL (Mesa llvmpipe works on CPU); ../shared tests skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    p = Path(os.environ.get("SIMGEN_SHARED", REPO.parent / "shared"))
    return p if p.is_dir() else None


@pytest.fixture
def shared() -> Path:
    p = shared_dir()
    if p is None:
        pytest.skip("../shared is absent (set SIMGEN_SHARED to its path)")
    return p


@pytest.fixture
def ycb_root(shared: Path) -> Path:
    p = shared / "ycb"
    if not (p / "models").is_dir():
        pytest.skip("../shared/ycb is absent")
    return p


@pytest.fixture
def make_cfg(tmp_path):
    """Factory for a RenderAppConfig writing into tmp_path (keyword overrides for top-level fields)."""
    from simgen.config import RenderAppConfig

    def _make(**kw):
        cfg = RenderAppConfig()
        cfg.output_dir = str(tmp_path / "out")
        cfg.n_images = 4
        cfg.shard_size = 2
        cfg.export.depth = False
        for k, v in kw.items():
            obj = cfg
            parts = k.split("__")
            for p in parts[:-1]:
                obj = getattr(obj, p)
            setattr(obj, parts[-1], v)
        return cfg

    return _make


def write_scene(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _compose(*overrides: str):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from simgen.cli.configs import register_all as register_configs
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
    """Hydra-composed configs, as `simgen render` composes them:
    compose_cfg("randomization=strong", "scene=default", ...) -> RenderAppConfig."""
    return _compose
