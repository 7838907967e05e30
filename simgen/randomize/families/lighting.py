"""Lighting: number, kind (directional, point, spot), intensity, colour temperature, direction/position, ambient."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simgen.core.geometry import look_at_cv, pose, spherical_to_cartesian
from simgen.core.imaging import kelvin_to_rgb
from simgen.randomize.schema import LightingConfig
from simgen.scene.model import Light, Scene
from simgen.scene.spec import SceneSpec

MAX_PER_KIND = 4  # pyrender renders at most 4 lights of each kind
_GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])  # pyrender lights shine along local -z


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
