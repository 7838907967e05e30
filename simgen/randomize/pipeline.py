"""Hook points where randomization families act on a sample (all take the sample's rng).

The spine applies no extra randomization: every hook is the identity, so a scene renders exactly as its scene
file's own ranges say.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simgen.randomize.schema import RandomizationConfig
from simgen.scene.spec import SceneSpec


class Randomizer:
    def __init__(self, cfg: RandomizationConfig, spec: SceneSpec) -> None:
        self.cfg = cfg
        self.spec = spec

    @classmethod
    def from_config(cls, cfg: RandomizationConfig, spec: SceneSpec) -> "Randomizer":
        return cls(cfg, spec)

    def extend_catalog(self, catalog, assets_root: Path) -> None:
        """Add meshes the randomizers need (distractors, ...) to the catalog."""

    def pool_sizes(self, catalog) -> dict[str, int]:
        """Renderer node-pool sizes for meshes added by :meth:`extend_catalog`."""
        return {}

    def extra_categories(self) -> list[str]:
        """Categories exported besides the scene's (e.g. defect classes)."""
        return []

    def before_physics(self, scene, catalog, rng: np.random.Generator):
        return scene

    def after_physics(self, scene, catalog, rng: np.random.Generator):
        return scene

    def after_render(self, frame, scene, instances, rng: np.random.Generator):
        """Image-space effects. Returns (rgb (H, W, 3) uint8, extra [(Instance, category)])."""
        return frame.rgb, []
