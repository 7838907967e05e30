"""Pose: object counts, drop height, initial orientation, scale jitter and placement area.

Re-draws the scene's objects (the scene sampler's draw is replaced) with the scene file's ranges widened by the
family's distributions; the stacking rule is the scene sampler's (an object that would start inside another is
lifted above it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from simgen.core.dist import Dist, choice, optional, uniform
from simgen.core.geometry import random_rotation, rot_z
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import ObjectInstance, Scene
from simgen.scene.sampler import drop_pose
from simgen.scene.spec import SceneSpec


@dataclass
class PoseConfig:
    """Object counts, drop height and orientation, scale jitter, placement area (re-draws the scene's objects)."""

    enabled: bool = False
    # added to each object kind's maximum count (per kind, per sample): count in [min, max + extra]
    count_extra: Dist = choice([0, 1], [0.7, 0.3], integer=True, min=0, max=64)
    # height above the surface the objects are dropped from (metres, plus their radius); null = scene's range
    drop_height: Optional[Dist] = optional(min=0.0)
    # fraction of objects that start upright (random yaw), the rest uniformly random; null = scene's value
    upright_probability: Optional[Dist] = optional(min=0.0, max=1.0)
    scale_jitter: Dist = uniform(0.9, 1.1, min=1e-6)  # multiplies each instance's scene scale
    area_scale: Dist = uniform(0.8, 1.3, min=0.0)  # multiplies the scene's placement half extents


def max_counts(spec: SceneSpec, cfg: PoseConfig) -> list[int]:
    """Largest number of instances of each object kind (renderer pool sizes)."""
    extra = int(cfg.count_extra.bounds()[1]) if cfg.enabled else 0
    return [int(o.count[1]) + extra for o in spec.objects]


def sample_objects(spec: SceneSpec, catalog, cfg: PoseConfig, rng: np.random.Generator) -> list[ObjectInstance]:
    P = spec.placement
    half = np.asarray(P.half_extent, np.float64) * float(cfg.area_scale.sample(rng))
    if cfg.upright_probability is not None:
        upright_p = float(cfg.upright_probability.sample(rng))
    else:
        upright_p = P.upright_probability if P.random_orientation else 1.0
    objects: list[ObjectInstance] = []
    placed: list[tuple[np.ndarray, float, float]] = []  # (xy, radius, top z)
    next_id = 1
    for i, o in enumerate(spec.objects):
        key = catalog.object_keys[i]
        mesh = catalog[key]
        extra = int(cfg.count_extra.sample(rng))
        n = int(rng.integers(o.count[0], o.count[1] + extra + 1))
        for _ in range(n):
            s = float(rng.uniform(*o.scale)) * float(cfg.scale_jitter.sample(rng))
            upright = bool(rng.random() < upright_p)
            yaw = rng.uniform(0, 2 * np.pi)
            R = rot_z(yaw) if upright else random_rotation(rng)
            xy = rng.uniform(-1, 1, size=2) * half
            h = float(cfg.drop_height.sample(rng)) if cfg.drop_height is not None else float(rng.uniform(*P.drop_height))
            T = drop_pose(mesh, s, R, xy, h, upright, placed)
            objects.append(ObjectInstance(instance_id=next_id, asset_key=key,
                                          category=o.category if o.labelled else None, scale=s, T_world_obj=T))
            next_id += 1
    return objects


def apply(scene: Scene, cfg: PoseConfig, spec: SceneSpec, catalog, rng: np.random.Generator) -> Scene:
    objects = sample_objects(spec, catalog, cfg, rng)
    scene.params["pose"] = {"n_objects": len(objects)}
    return scene.with_objects(objects)


class PoseFamily(Family):
    name = "pose"
    stream_id = 3
    order = 10
    Config = PoseConfig

    def pool_sizes(self, catalog, pools: dict[str, int]) -> None:
        pools.update(zip(catalog.object_keys, max_counts(self.spec, self.cfg)))

    def before_physics(self, ctx: SampleContext) -> None:
        ctx.scene = apply(ctx.scene, self.cfg, self.spec, ctx.catalog, ctx.rng)
