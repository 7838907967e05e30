"""Executors: run shards in this process, in a local process pool (``workers=N``), or elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.scene.spec import SceneSpec


def run_shards(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int,
               executor: Optional[str] = None) -> dict:
    """Run ``shards``; returns the GL info of a worker (for the manifest)."""
    from simgen.launch.local import run_local

    return run_local(cfg, spec, shards, out, n_samples)
