"""Camera: distance scale, elevation/azimuth (offsets from the spine camera's, or absolute), look-at jitter, roll,
focal length.

The spine's camera (drawn by the scene sampler from the scene's ranges) is the starting point: its distance,
elevation, azimuth and roll are recovered from its pose, then perturbed. Intrinsics are the spine's (already at
the output size) times ``focal_scale`` (const 1 keeps them fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from simgen.core.checks import check
from simgen.core.dist import Dist, const, normal, optional, uniform
from simgen.core.geometry import dot, look_at_cv, norm, spherical_to_cartesian
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import Camera, Scene
from simgen.scene.spec import SceneSpec


@dataclass
class CameraConfig:
    """Camera moved around the spine's view: distance scale, elevation/azimuth offsets, look-at jitter, roll.
    Intrinsics stay the scene's unless ``focal_scale`` varies (a real camera's intrinsics: keep it const 1)."""

    enabled: bool = False
    # multiplies the spine camera's distance (drawn from the scene's camera.distance range)
    distance_scale: Dist = uniform(0.9, 1.2, min=1e-6)
    # absolute ranges; null = keep the spine camera's own (drawn from the scene's range by the scene sampler)
    elevation_deg: Optional[Dist] = optional(min=-90.0, max=90.0)
    azimuth_deg: Optional[Dist] = optional()
    # offsets added to that elevation / azimuth (degrees); the result is clipped to elevation_limits_deg
    elevation_offset_deg: Dist = const(0.0, min=-180.0, max=180.0)
    azimuth_offset_deg: Dist = const(0.0)
    elevation_limits_deg: list[float] = field(default_factory=lambda: [5.0, 89.5],
                                              metadata=check(pair=True, min=-90.0, max=90.0))
    # look-at jitter per axis, as a fraction of the camera distance
    look_at_jitter: Dist = normal(0.0, 0.03, -0.1, 0.1)
    roll_deg: Dist = normal(0.0, 4.0, -12.0, 12.0)
    focal_scale: Dist = const(1.0, min=1e-6)  # multiplies fx and fy (cx, cy unchanged)


def spine_view(cam: Camera, look_at) -> tuple[np.ndarray, float, float, float, float]:
    """(target, distance, elevation, azimuth, roll) of a look-at camera (radians). The target is the point of the
    optical axis closest to the scene's nominal look-at point."""
    T = np.asarray(cam.T_world_cam, np.float64)
    eye, fwd = T[:3, 3], T[:3, 2]
    t = max(dot(np.asarray(look_at, np.float64) - eye, fwd), 1e-6)
    target = eye + fwd * t
    v = eye - target
    d = norm(v)
    el = float(np.arcsin(np.clip(v[2] / d, -1.0, 1.0)))
    az = float(np.arctan2(v[1], v[0]))
    R0 = look_at_cv(eye, target)[:3, :3]
    x = T[:3, 0]
    roll = float(np.arctan2(dot(x, R0[:, 1]), dot(x, R0[:, 0])))
    return target, d, el, az, roll


def sample_camera(cfg: CameraConfig, spec: SceneSpec, base: Camera, rng: np.random.Generator) -> Camera:
    target, d0, el0, az0, roll0 = spine_view(base, spec.camera.look_at)
    d = d0 * float(cfg.distance_scale.sample(rng))
    el = np.deg2rad(float(cfg.elevation_deg.sample(rng))) if cfg.elevation_deg is not None else el0
    az = np.deg2rad(float(cfg.azimuth_deg.sample(rng))) if cfg.azimuth_deg is not None else az0
    el += np.deg2rad(float(cfg.elevation_offset_deg.sample(rng)))
    az += np.deg2rad(float(cfg.azimuth_offset_deg.sample(rng)))
    lo, hi = (float(v) for v in cfg.elevation_limits_deg)
    el = float(np.clip(el, np.deg2rad(lo), np.deg2rad(min(hi, 89.5))))
    jitter = np.array([cfg.look_at_jitter.sample(rng) for _ in range(3)], np.float64) * d
    roll = roll0 + np.deg2rad(float(cfg.roll_deg.sample(rng)))
    f = float(cfg.focal_scale.sample(rng))
    target = target + jitter
    eye = target + spherical_to_cartesian(d, el, az)
    return replace(base, fx=base.fx * f, fy=base.fy * f, T_world_cam=look_at_cv(eye, target, roll))


def apply(scene: Scene, cfg: CameraConfig, spec: SceneSpec, rng: np.random.Generator) -> Scene:
    return replace(scene, camera=sample_camera(cfg, spec, scene.camera, rng))


class CameraFamily(Family):
    name = "camera"
    stream_id = 2
    order = 40
    Config = CameraConfig

    def after_physics(self, ctx: SampleContext) -> None:
        ctx.scene = apply(ctx.scene, self.cfg, self.spec, ctx.rng)
