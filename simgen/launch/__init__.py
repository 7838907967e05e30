"""Executors: run shards in this process, in a local process pool (``workers=N``), or on Ray (``executor=ray``).

Every executor calls :func:`simgen.run.shard.run_shard` on disjoint shards; the merge is the same, so the dataset's
bytes do not depend on the executor or the number of workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.errors import ConfigError
from simgen.scene.spec import SceneSpec

EXECUTORS = ("local", "ray")


def run_shards(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int,
               executor: Optional[str] = None) -> dict:
    """Run ``shards`` on ``executor`` (default ``cfg.executor.name``); returns a worker's GL info (manifest)."""
    name = executor or cfg.executor.name
    if name == "local":
        from simgen.launch.local import run_local

        return run_local(cfg, spec, shards, out, n_samples)
    if name == "ray":
        from simgen.launch.ray import run_ray

        return run_ray(cfg, spec, shards, out, n_samples)
    raise ConfigError(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)} (executor=local|ray)")
