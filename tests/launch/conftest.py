"""Fixtures of the launch tests: a tiny render config composed exactly as `simgen render` composes it, and a
reference dataset rendered once (workers=1, in this process) that every executor / resume test must match."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

# tiny and fast: 8 images in 4 shards, 160x120, no depth, no preview work beyond the default
TINY = ["n_images=8", "shard_size=2", "render.width=160", "render.height=120", "export.depth=false",
        "export.preview_n=4"]


def compose_render(overrides: list[str]):
    """RenderAppConfig from conf/render.yaml + overrides (what `simgen render <overrides>` runs)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from simgen.cli.configs import register_all as register_configs
    from simgen.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="render", overrides=overrides)
            return OmegaConf.to_object(cfg)
    finally:
        GlobalHydra.instance().clear()


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every dataset file (run state under .simgen/ excluded)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file() and ".simgen" not in p.parts}


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SIMGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=kw.pop("timeout", 300), **kw)


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The tiny dataset rendered with workers=1 in this process: (folder, hashes)."""
    from simgen.run.job import render_dataset

    out = tmp_path_factory.mktemp("ref") / "ds"
    render_dataset(compose_render(TINY + [f"output_dir={out}"]))
    return out, tree_hashes(out)


@pytest.fixture(scope="session")
def compose_cfg():
    return compose_render


@pytest.fixture(scope="session")
def hashes():
    return tree_hashes


@pytest.fixture(scope="session")
def run_cli():
    return cli
