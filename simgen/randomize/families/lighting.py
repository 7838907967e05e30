"""Lighting: number, kind (directional, point, spot), intensity, colour temperature, direction/position, ambient."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simgen.core.dist import Dist, choice, randint, uniform
from simgen.core.geometry import look_at_cv, pose, spherical_to_cartesian
from simgen.core.imaging import kelvin_to_rgb
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import Light, Scene
from simgen.scene.spec import SceneSpec

MAX_PER_KIND = 4  # at most 4 lights of each kind (the raster shader's arrays)
LIGHT_KINDS = ("directional", "point", "spot")
_GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])  # pyrender lights shine along local -z


@dataclass
class LightingConfig:
    """Replaces the scene's lights: count, kind, intensity, colour temperature, direction/position, ambient."""

    enabled: bool = False
    n_lights: Dist = randint(1, 3, integer=True, min=0, max=MAX_PER_KIND)  # at most 4 of each kind are used
    kind: Dist = choice(["directional", "point", "spot"], [0.6, 0.25, 0.15], allowed=LIGHT_KINDS)
    # irradiance at the scene centre (W/m^2 as pyrender's directional lights; point/spot intensities are scaled by
    # distance^2 so the same value gives the same brightness at the centre)
    intensity: Dist = uniform(1.5, 4.5, min=0.0)
    kelvin: Dist = uniform(3500.0, 7500.0, min=1000.0, max=40000.0)  # colour temperature of each light
    elevation_deg: Dist = uniform(25.0, 85.0, min=-90.0, max=90.0)  # direction the light comes from, above horizon
    azimuth_deg: Dist = uniform(0.0, 360.0)
    # point/spot distance from the scene centre, as a multiple of the scene camera's mean distance
    distance_scale: Dist = uniform(0.8, 2.0, min=1e-6)
    spot_cone_deg: Dist = uniform(20.0, 45.0, min=1.0, max=89.0)  # outer cone half-angle of spot lights
    ambient: Dist = uniform(0.15, 0.5, min=0.0)
    ambient_kelvin: Dist = uniform(5000.0, 9000.0, min=1000.0, max=40000.0)


def sample_lights(cfg: LightingConfig, spec: SceneSpec, rng: np.random.Generator) -> tuple[list[Light], np.ndarray]:
    """Lights around the scene's look-at point and the ambient colour (3,)."""
    centre = np.asarray(spec.camera.look_at, np.float64)
    cam_d = float(np.mean(spec.camera.distance))
    n = int(cfg.n_lights.sample(rng))
    used = {"directional": 0, "point": 0, "spot": 0}
    lights: list[Light] = []
    for _ in range(n):
        kind = str(cfg.kind.sample(rng))
        E = float(cfg.intensity.sample(rng))
        color = kelvin_to_rgb(cfg.kelvin.sample(rng))
        el = np.deg2rad(min(float(cfg.elevation_deg.sample(rng)), 89.5))
        az = np.deg2rad(float(cfg.azimuth_deg.sample(rng)))
        d = float(cfg.distance_scale.sample(rng)) * cam_d
        cone = np.deg2rad(float(cfg.spot_cone_deg.sample(rng)))
        if used[kind] >= MAX_PER_KIND:
            continue
        used[kind] += 1
        u = spherical_to_cartesian(1.0, el, az)
        if kind == "directional":
            T = look_at_cv(centre + 2.0 * u, centre) @ _GL_FROM_CV
            lights.append(Light(kind="directional", color=color, intensity=E, T_world_light=T))
        elif kind == "point":
            lights.append(Light(kind="point", color=color, intensity=E * d * d,
                                T_world_light=pose(np.eye(3), centre + d * u)))
        else:
            T = look_at_cv(centre + d * u, centre) @ _GL_FROM_CV
            lights.append(Light(kind="spot", color=color, intensity=E * d * d, T_world_light=T,
                                inner_cone=0.6 * cone, outer_cone=cone))
    amb = float(cfg.ambient.sample(rng)) * kelvin_to_rgb(cfg.ambient_kelvin.sample(rng))
    return lights, amb


def apply(scene: Scene, cfg: LightingConfig, spec: SceneSpec, rng: np.random.Generator) -> Scene:
    lights, amb = sample_lights(cfg, spec, rng)
    scene.params["lighting"] = {"n": len(lights), "kinds": [L.kind for L in lights]}
    return replace(scene, lights=lights, ambient=amb)


class LightingFamily(Family):
    name = "lighting"
    stream_id = 1
    order = 50
    Config = LightingConfig

    def after_physics(self, ctx: SampleContext) -> None:
        ctx.scene = apply(ctx.scene, self.cfg, self.spec, ctx.rng)
