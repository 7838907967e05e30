"""Hook points where randomization families act on a sample (all take the sample's rng).

Families and where they act::

    extend_catalog   distractors (primitive bank + meshes), material (textured variants of untextured meshes),
                     background (surface and wall banks): made once per worker, uploaded once by the renderer
    before_physics   pose (re-draws the objects), distractors (added, unlabelled, settle with the objects)
    after_physics    material, camera, lighting, background (surface, walls, colour, backdrop choice)
    after_render     background (backdrop composite), defects (labelled extras), weather, sensor

Each family draws from its own generator, derived from the sample's SeedSequence without advancing the sample's
stream (:func:`simgen.core.rngs.family_rng`). With every family off each hook returns its input unchanged
and draws nothing, so the images are the spine's, byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from simgen.errors import ConfigError
from simgen.core.rngs import family_rng
from simgen.randomize.schema import RandomizationConfig, validate_randomization
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)


class Randomizer:
    def __init__(self, cfg: RandomizationConfig, spec: SceneSpec) -> None:
        self.cfg = cfg
        self.spec = spec
        self._prim_keys: list[str] = []
        self._mesh_keys: list[str] = []
        self._variants: dict[str, list[str]] = {}
        self._surface_keys: list[str] = []
        self._wall_keys: list[str] = []
        self._images: list[Path] = []
        self._catalog = None  # set by extend_catalog (defects need mesh radii in after_render)
        if cfg.background.enabled:
            from simgen.randomize.families.background import list_images

            self._images = list_images(cfg.background.image_dir)
            if cfg.background.image_dir not in (None, "") and not self._images:
                raise ConfigError(f"randomization.background.image_dir {cfg.background.image_dir!r} holds no "
                                  f".jpg/.jpeg/.png images; add some or leave it null")

    @classmethod
    def from_config(cls, cfg: RandomizationConfig, spec: SceneSpec) -> "Randomizer":
        validate_randomization(cfg)
        clash = set(cls._extra(cfg)) & set(spec.categories)
        if clash:
            raise ConfigError(f"defect categories {sorted(clash)} clash with the scene's own categories; rename "
                              f"the scene's objects or set randomization.defects.categories")
        return cls(cfg, spec)

    @property
    def enabled(self) -> list[str]:
        return self.cfg.enabled_families()

    # ------------------------------------------------------------------ set-up (once per worker)
    def extend_catalog(self, catalog, assets_root: Path) -> None:
        """Add meshes the randomizers need (distractors, textured variants, surface/wall banks) to the catalog."""
        c = self.cfg
        self._catalog = catalog
        if c.distractors.enabled:
            from simgen.randomize.families import distractors

            self._prim_keys, self._mesh_keys = distractors.build_bank(c.distractors, self.spec, catalog,
                                                                     Path(assets_root))
        if c.material.enabled:
            from simgen.randomize.families import material

            self._variants = material.build_variants(c.material, catalog,
                                                     list(catalog.object_keys) + self._mesh_keys)
        if c.background.enabled:
            from simgen.randomize.families import background

            self._surface_keys, self._wall_keys = background.build_bank(c.background, self.spec, catalog)

    def pool_sizes(self, catalog) -> dict[str, int]:
        """Renderer node-pool sizes for meshes added by :meth:`extend_catalog` (and object kinds whose count the
        pose family can raise)."""
        c = self.cfg
        out: dict[str, int] = {}
        if c.pose.enabled:
            from simgen.randomize.families.pose import max_counts

            out.update(dict(zip(catalog.object_keys, max_counts(self.spec, c.pose))))
        if c.distractors.enabled:
            n = int(c.distractors.count.bounds()[1])
            for k in self._prim_keys + self._mesh_keys:
                out[k] = n
        for key, vs in self._variants.items():
            n = out.get(key)
            if n is None:
                i = catalog.object_keys.index(key) if key in catalog.object_keys else None
                n = int(self.spec.objects[i].count[1]) if i is not None else 0
            for v in vs:
                out[v] = n
        for k in self._surface_keys:
            out[k] = 1
        for k in self._wall_keys:
            out[k] = 4
        return out

    @staticmethod
    def _extra(cfg: RandomizationConfig) -> list[str]:
        return list(cfg.defects.categories) if cfg.defects.enabled else []

    def extra_categories(self) -> list[str]:
        """Categories exported besides the scene's (the defect classes, when defects are on)."""
        return self._extra(self.cfg)

    # ------------------------------------------------------------------ per sample
    def before_physics(self, scene, catalog, rng: np.random.Generator):
        c = self.cfg
        if c.pose.enabled:
            from simgen.randomize.families import pose

            scene = pose.apply(scene, c.pose, self.spec, catalog, family_rng(rng, "pose", "before_physics"))
        if c.distractors.enabled:
            from simgen.randomize.families import distractors

            scene = distractors.add(scene, c.distractors, self.spec, catalog, self._prim_keys, self._mesh_keys,
                                    family_rng(rng, "distractors", "before_physics"))
        return scene

    def after_physics(self, scene, catalog, rng: np.random.Generator):
        c = self.cfg
        if c.material.enabled:
            from simgen.randomize.families import material

            scene = material.apply(scene, c.material, catalog, self._variants,
                                   family_rng(rng, "material", "after_physics"))
        if c.camera.enabled:
            from simgen.randomize.families import camera

            scene = camera.apply(scene, c.camera, self.spec, family_rng(rng, "camera", "after_physics"))
        if c.lighting.enabled:
            from simgen.randomize.families import lighting

            scene = lighting.apply(scene, c.lighting, self.spec, family_rng(rng, "lighting", "after_physics"))
        if c.background.enabled:
            from simgen.randomize.families import background

            scene = background.apply_scene(scene, c.background, self.spec, self._surface_keys, self._wall_keys,
                                           self._images, family_rng(rng, "background", "after_physics"))
        return scene

    def after_render(self, frame, scene, instances, rng: np.random.Generator):
        """Image-space effects. Returns (rgb (H, W, 3) uint8, extra [(Instance, category)])."""
        c = self.cfg
        rgb, extra = frame.rgb, []
        if c.background.enabled:
            from simgen.randomize.families import background

            rgb = background.composite(rgb, frame.depth, scene)
        if c.defects.enabled:
            from simgen.randomize.families import defects

            rgb, extra = defects.apply(rgb, frame.depth, frame.instance_ids, scene, instances, c.defects,
                                       self._catalog, family_rng(rng, "defects", "after_render"))
        if c.weather.enabled:
            from simgen.randomize.families import weather

            rgb = weather.apply(rgb, frame.depth, scene, c.weather, self.spec.camera.look_at,
                                family_rng(rng, "weather", "after_render"))
        if c.sensor.enabled:
            from simgen.randomize.families import sensor

            rgb = sensor.apply(rgb, c.sensor, family_rng(rng, "sensor", "after_render"))
        return rgb, extra
