"""The randomizer of one worker: the enabled families (:mod:`simgen.randomize.families`), run in their ``order``.

Where families act (each family's hooks, see :mod:`simgen.randomize.family`)::

    setup            distractors (primitive bank + meshes), material (textured variants of untextured meshes),
                     background (surface and wall banks): made once per worker, uploaded once by the renderer
    before_physics   pose (re-draws the objects), distractors (added, unlabelled, settle with the objects)
    after_physics    material, camera, lighting, background (surface, walls, colour, backdrop choice)
    after_render     background (backdrop composite), defects (labelled extras), weather, sensor

Each family draws from its own generator, derived from the sample's SeedSequence without advancing the sample's
stream (:func:`simgen.core.rngs.family_rng`). With every family off nothing runs and nothing is drawn, so the
images are the spine's, byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from simgen.core.frame import Frame
from simgen.randomize.family import Family, SampleContext
from simgen.randomize.schema import FAMILY_TYPES, RandomizationConfig, validate_randomization
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Scene
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)


class Randomizer:
    def __init__(self, cfg: RandomizationConfig, spec: SceneSpec) -> None:
        self.cfg = cfg
        self.spec = spec
        types = sorted((cls for name, cls in FAMILY_TYPES.items() if getattr(cfg, name).enabled),
                       key=lambda c: c.order)
        self.families: list[Family] = [cls(getattr(cfg, cls.name), spec) for cls in types]
        self._by_stage = {stage: [f for f in self.families if stage in f.hooks()]
                          for stage in ("before_physics", "after_physics", "after_render")}

    @classmethod
    def from_config(cls, cfg: RandomizationConfig, spec: SceneSpec) -> "Randomizer":
        """Validate every family's config (and against the scene), then build the enabled ones."""
        validate_randomization(cfg)
        for name, fam in FAMILY_TYPES.items():
            fam.check_scene(getattr(cfg, name), spec)
        return cls(cfg, spec)

    @property
    def enabled(self) -> list[str]:
        return self.cfg.enabled_families()

    # ------------------------------------------------------------------ set-up (once per worker)
    def extend_catalog(self, catalog: AssetCatalog, assets_root: Path) -> None:
        """Add the meshes the families need (distractors, textured variants, surface/wall banks) to the catalog."""
        for f in self.families:
            f.setup(catalog, Path(assets_root))

    def pool_sizes(self, catalog: AssetCatalog, pools: dict[str, int]) -> dict[str, int]:
        """Renderer node-pool sizes: ``pools`` (the scene's own: object kind -> most instances) raised and extended
        by the families, in place; returns it."""
        for f in self.families:
            f.pool_sizes(catalog, pools)
        return pools

    def extra_categories(self) -> list[str]:
        """Categories exported besides the scene's (the defect classes, when defects are on)."""
        return [c for f in self.families for c in f.categories()]

    # ------------------------------------------------------------------ per sample
    def run(self, stage: str, ctx: SampleContext) -> None:
        for f in self._by_stage[stage]:
            f.run(stage, ctx)

    def before_physics(self, scene: Scene, catalog: AssetCatalog, rng: np.random.Generator) -> Scene:
        ctx = SampleContext(index=-1, spec=self.spec, catalog=catalog, scene=scene, sample_rng=rng)
        self.run("before_physics", ctx)
        return ctx.scene

    def after_physics(self, scene: Scene, catalog: AssetCatalog, rng: np.random.Generator) -> Scene:
        ctx = SampleContext(index=-1, spec=self.spec, catalog=catalog, scene=scene, sample_rng=rng)
        self.run("after_physics", ctx)
        return ctx.scene

    def after_render(self, frame: Frame, scene: Scene, instances, rng: np.random.Generator,
                     catalog: AssetCatalog | None = None):
        """Image-space effects. Returns (rgb (H, W, 3) uint8, extra [(Instance, category)])."""
        ctx = SampleContext(index=-1, spec=self.spec, catalog=catalog, scene=scene, sample_rng=rng, frame=frame,
                            rgb=frame.rgb, instances=list(instances))
        self.run("after_render", ctx)
        return ctx.rgb, ctx.extra
