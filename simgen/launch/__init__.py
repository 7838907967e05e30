"""Executors: where shards run (``executor=<name>``): this process or a local process pool (``local``,
``workers=N``), or Ray actors (``ray``).

Every executor calls :func:`simgen.run.shard.run_shard` on disjoint shards; the merge is the same, so the dataset's
bytes do not depend on the executor or the number of workers. Adding one = one module with a function of the
:class:`Executor` signature + one line in :data:`EXECUTORS` (or an entry point in the ``simgen.executors`` group)
+ its ``conf/executor/<name>.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Protocol

from simgen.config import RenderAppConfig
from simgen.core.plugins import entry_point_specs, load_attr
from simgen.errors import ConfigError
from simgen.scene.spec import SceneSpec

EXECUTORS: dict[str, str] = {"local": "simgen.launch.local:run_local", "ray": "simgen.launch.ray:run_ray"}
for _name, _target in entry_point_specs("simgen.executors"):
    EXECUTORS.setdefault(_name, _target)


class Executor(Protocol):
    def __call__(self, cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int) -> dict:
        """Run every shard (each exactly once to completion, retried as the executor sees fit), counting samples
        on a progress bar; returns one worker's renderer info (for the manifest)."""


def executor(name: str) -> Executor:
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)} (executor=<name>)")
    return load_attr(EXECUTORS[name])


def run_shards(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int,
               executor_name: Optional[str] = None) -> dict:
    """Run ``shards`` on ``executor_name`` (default ``cfg.executor.name``); returns a worker's renderer info."""
    return executor(executor_name or cfg.executor.name)(cfg, spec, shards, out, n_samples)
