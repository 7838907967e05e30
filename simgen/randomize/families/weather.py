"""Weather from the rendered depth (Frame.depth, metres along z; 0 = nothing rendered = infinitely far).

* fog / haze: transmission ``exp(-3 r / V)`` over each pixel's ray length r (V = visibility, 5% transmission), so
  far pixels converge to the fog colour and empty pixels are all fog.
* rain: streaks placed at 3D depths from 0.3 to 2.5 camera distances (length and width shrink with depth, hidden
  where nearer geometry is in front), up-facing surfaces (normals from depth, world +z) darkened as if wet, a
  little haze.
* snow: flakes at 3D depths (size shrinks with depth, hidden behind nearer geometry), up-facing surfaces whitened
  with a cover pattern attached to world coordinates (it does not swim with the camera), some fog.
* low_light: exposure scaled down in linear light, Poisson shot noise and Gaussian read noise.
"""

from __future__ import annotations

import numpy as np

from simgen.randomize.imaging import (backproject, camera_distance, fast_normal, linear_to_srgb_u8,
                                      normals_from_depth, ray_range, srgb_to_linear, to_u8, world_noise,
                                      world_up_in_camera)
from simgen.randomize.schema import WeatherConfig
from simgen.scene.model import Camera, Scene


def fog(rgb: np.ndarray, depth: np.ndarray, camera: Camera, visibility: float, colour) -> np.ndarray:
    """Depth-attenuated fog. rgb (H, W, 3) uint8 -> float32 (H, W, 3) in 0..255."""
    r = ray_range(depth, camera)
    t = np.exp(-3.0 * r / max(visibility, 1e-6)).astype(np.float32)[..., None]
    c = np.asarray(colour, np.float32) * 255.0
    return rgb.astype(np.float32) * t + c * (1.0 - t)


def _up_facing(depth: np.ndarray, camera: Camera) -> np.ndarray:
    """(H, W) float32 in 0..1: how much each surface faces world +z (0 where nothing was rendered)."""
    n = normals_from_depth(depth, camera)
    up = world_up_in_camera(camera).astype(np.float32)
    return np.clip((n * up).sum(2), 0.0, 1.0)


def _depth_layers(img: np.ndarray, depth: np.ndarray, z: np.ndarray, draw, n_bins: int = 6) -> np.ndarray:
    """Alpha (H, W) float32 of particles at depths ``z`` drawn by ``draw(layer, indices)``, each depth bin hidden
    where the scene is nearer than the bin."""
    alpha = np.zeros(depth.shape, np.float32)
    if len(z) == 0:
        return alpha
    edges = np.linspace(float(z.min()), float(z.max()) + 1e-6, n_bins + 1)
    far = np.where(depth > 0, depth, np.inf)
    for b in range(n_bins):
        idx = np.nonzero((z >= edges[b]) & (z < edges[b + 1]))[0]
        if len(idx) == 0:
            continue
        layer = np.zeros(depth.shape, np.float32)
        draw(layer, idx)
        zmid = 0.5 * (edges[b] + edges[b + 1])
        layer[far <= zmid] = 0.0
        np.maximum(alpha, layer, out=alpha)
    return alpha


def rain(rgb: np.ndarray, depth: np.ndarray, camera: Camera, D: float, cfg: WeatherConfig,
         rng: np.random.Generator) -> np.ndarray:
    import cv2

    n = int(cfg.rain_drops.sample(rng))
    L = float(cfg.rain_length.sample(rng)) * D
    ang = np.deg2rad(float(cfg.rain_angle_deg.sample(rng)))
    wet = float(cfg.rain_wetness.sample(rng))
    h, w = depth.shape
    zmin, zmax = max(2 * camera.znear, 0.3 * D), 2.5 * D
    z = rng.uniform(zmin, zmax, n)
    u = rng.uniform(-0.1 * w, 1.1 * w, n)
    v = rng.uniform(-0.2 * h, h, n)
    jit = rng.normal(0.0, 0.05, n)
    out = rgb.astype(np.float32) * (1.0 - wet * _up_facing(depth, camera) ** 2)[..., None]
    length = camera.fy * L / z
    width = np.maximum(1, np.rint(camera.fx * 0.0015 * D / z)).astype(int)
    strength = 0.18 + 0.3 * (zmin / z)
    dx, dy = np.sin(ang + jit), np.cos(ang + jit)

    def draw(layer, idx):
        for i in idx:
            p0 = (int(round(u[i] * 16)), int(round(v[i] * 16)))
            p1 = (int(round((u[i] + dx[i] * length[i]) * 16)), int(round((v[i] + dy[i] * length[i]) * 16)))
            cv2.line(layer, p0, p1, float(strength[i]), int(width[i]), cv2.LINE_AA, 4)

    a = _depth_layers(rgb, depth, z, draw)[..., None]
    out = out * (1 - a) + 215.0 * a
    return fog(to_u8(out), depth, camera, 14.0 * D, (0.62, 0.64, 0.68))


def snow(rgb: np.ndarray, depth: np.ndarray, camera: Camera, D: float, cfg: WeatherConfig,
         rng: np.random.Generator) -> np.ndarray:
    import cv2

    n = int(cfg.snow_flakes.sample(rng))
    size = float(cfg.snow_size.sample(rng)) * D
    cover = float(cfg.snow_cover.sample(rng))
    grid = rng.random((64, 64)).astype(np.float32)
    h, w = depth.shape
    zmin, zmax = max(2 * camera.znear, 0.3 * D), 2.5 * D
    z = rng.uniform(zmin, zmax, n)
    u = rng.uniform(0, w, n)
    v = rng.uniform(0, h, n)
    sz = rng.uniform(0.6, 1.4, n)
    # cover on up-facing surfaces, patterned in world coordinates
    P = backproject(depth, camera)
    Pw = P @ camera.T_world_cam[:3, :3].T + camera.T_world_cam[:3, 3]
    pattern = world_noise(Pw, grid, 0.04 * D)
    up = _up_facing(depth, camera)
    c = cover * np.clip((up - 0.5) / 0.4, 0, 1) * np.clip(0.3 + pattern, 0, 1)
    c = (c * (depth > 0))[..., None].astype(np.float32)
    out = rgb.astype(np.float32) * (1 - c) + np.array([240.0, 244.0, 250.0], np.float32) * c
    radius = 0.5 * camera.fx * size * sz / z

    def draw(layer, idx):
        for i in idx:
            r = max(1, int(round(radius[i] * 16)))
            cv2.circle(layer, (int(round(u[i] * 16)), int(round(v[i] * 16))), r, 0.9, -1, cv2.LINE_AA, 4)
        if len(idx) and radius[idx].mean() > 2.5:  # near flakes are out of focus
            layer[:] = cv2.GaussianBlur(layer, (0, 0), float(radius[idx].mean()) * 0.35)

    a = _depth_layers(rgb, depth, z, draw)[..., None]
    out = out * (1 - a) + 245.0 * a
    return fog(to_u8(out), depth, camera, 9.0 * D, (0.82, 0.84, 0.88))


def low_light(rgb: np.ndarray, cfg: WeatherConfig, rng: np.random.Generator) -> np.ndarray:
    gain = float(cfg.low_light_gain.sample(rng))
    photons = float(cfg.low_light_photons.sample(rng))
    read = float(cfg.low_light_read_noise.sample(rng))
    lam = srgb_to_linear(rgb) * np.float32(gain * photons)  # expected photon counts
    # Poisson counts: exact where few photons arrive, the (rounded) Gaussian limit elsewhere (skew < 0.26 there);
    # 5x faster than drawing every pixel from rng.poisson
    small = lam < 15.0
    counts = np.rint(lam + np.sqrt(lam) * fast_normal(rng, lam.shape))
    counts[small] = rng.poisson(lam[small])
    out = linear_to_srgb_u8(counts * np.float32(1.0 / photons)).astype(np.float32)
    out += fast_normal(rng, rgb.shape) * np.float32(read)
    return out


def apply(rgb: np.ndarray, depth: np.ndarray, scene: Scene, cfg: WeatherConfig, look_at,
          rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8 with this sample's weather (``clear`` returns rgb unchanged)."""
    kind = str(cfg.kind.sample(rng))
    scene.params["weather"] = kind
    cam = scene.camera
    D = camera_distance(cam, look_at)
    if kind == "clear":
        return rgb
    if kind == "fog":
        V = float(cfg.fog_visibility.sample(rng)) * D
        b = float(cfg.fog_brightness.sample(rng))
        return to_u8(fog(rgb, depth, cam, V, np.array([0.97, 0.98, 1.0]) * b))
    if kind == "haze":
        V = float(cfg.haze_visibility.sample(rng)) * D
        b = float(cfg.haze_brightness.sample(rng))
        return to_u8(fog(rgb, depth, cam, V, np.array([0.84, 0.9, 1.0]) * b))
    if kind == "rain":
        return to_u8(rain(rgb, depth, cam, D, cfg, rng))
    if kind == "snow":
        return to_u8(snow(rgb, depth, cam, D, cfg, rng))
    return to_u8(low_light(rgb, cfg, rng))
