"""Camera: distance, elevation and azimuth around the scene's look-at point, look-at jitter, roll, focal length."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simgen.randomize.geometry import look_at_cv, spherical_to_cartesian
from simgen.randomize.schema import CameraConfig
from simgen.scene.model import Camera, Scene
from simgen.scene.spec import SceneSpec


def sample_camera(cfg: CameraConfig, spec: SceneSpec, rng: np.random.Generator, width: int, height: int) -> Camera:
    c = spec.camera
    d = float(rng.uniform(*c.distance)) * float(cfg.distance_scale.sample(rng))
    el = float(cfg.elevation_deg.sample(rng)) if cfg.elevation_deg is not None else float(rng.uniform(*c.elevation_deg))
    az = float(cfg.azimuth_deg.sample(rng)) if cfg.azimuth_deg is not None else float(rng.uniform(*c.azimuth_deg))
    jitter = np.array([cfg.look_at_jitter.sample(rng) for _ in range(3)], np.float64) * d
    roll = np.deg2rad(float(cfg.roll_deg.sample(rng)))
    f = float(cfg.focal_scale.sample(rng))
    target = np.asarray(c.look_at, np.float64) + jitter
    eye = target + spherical_to_cartesian(d, np.deg2rad(min(el, 89.5)), np.deg2rad(az))
    cam = Camera(fx=c.fx * f, fy=c.fy * f, cx=c.cx, cy=c.cy, width=c.width, height=c.height, znear=c.znear,
                 zfar=c.zfar, T_world_cam=look_at_cv(eye, target, roll))
    if (width, height) != (c.width, c.height):
        cam = cam.resized(width, height)
    return cam


def apply(scene: Scene, cfg: CameraConfig, spec: SceneSpec, rng: np.random.Generator) -> Scene:
    cam = sample_camera(cfg, spec, rng, scene.camera.width, scene.camera.height)
    return replace(scene, camera=cam)
