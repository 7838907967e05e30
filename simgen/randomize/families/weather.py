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

from dataclasses import dataclass

import numpy as np

from simgen.core.dist import Dist, choice, loguniform, normal, randint, uniform
from simgen.core.imaging import (
    _TO_LINEAR,
    add_read_noise,
    camera_distance,
    draw_from_tables,
    facing,
    quantile_table,
    ray_range,
    world_noise_xy,
    world_up_in_camera,
    world_xy,
)
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import Camera, Scene

WEATHER_KINDS = ("clear", "fog", "haze", "rain", "snow", "low_light")


@dataclass
class WeatherConfig:
    """Depth-aware weather: fog/haze attenuated by the rendered depth, rain streaks and snow flakes at 3D depths
    (hidden behind nearer geometry), wet darkening and snow cover on up-facing surfaces, low light with noise."""

    enabled: bool = False
    kind: Dist = choice(["clear", "fog", "haze", "rain", "snow", "low_light"], [0.6, 0.1, 0.1, 0.07, 0.06, 0.07],
                        allowed=WEATHER_KINDS)
    # meteorological visibility (distance of 5% transmission) as a multiple of the camera distance
    fog_visibility: Dist = uniform(2.5, 8.0, min=1e-3)
    fog_brightness: Dist = uniform(0.6, 0.9, min=0.0, max=1.0)
    haze_visibility: Dist = uniform(6.0, 20.0, min=1e-3)
    haze_brightness: Dist = uniform(0.7, 0.95, min=0.0, max=1.0)
    rain_drops: Dist = randint(150, 400, integer=True, min=0, max=20000)  # streaks in the view volume
    rain_length: Dist = uniform(0.03, 0.08, min=0.0)  # streak length, multiple of the camera distance
    rain_angle_deg: Dist = normal(0.0, 12.0, -35.0, 35.0)  # from vertical in the image
    rain_wetness: Dist = uniform(0.15, 0.35, min=0.0, max=1.0)  # darkening of up-facing surfaces
    snow_flakes: Dist = randint(200, 600, integer=True, min=0, max=20000)
    snow_size: Dist = uniform(0.004, 0.01, min=0.0)  # flake diameter, multiple of the camera distance
    snow_cover: Dist = uniform(0.15, 0.45, min=0.0, max=1.0)  # whitening of up-facing surfaces
    low_light_gain: Dist = uniform(0.12, 0.35, min=0.0)  # exposure multiplier
    low_light_photons: Dist = loguniform(150.0, 800.0, min=1.0)  # photons at full white (shot noise)
    low_light_read_noise: Dist = uniform(1.0, 4.0, min=0.0)  # read noise std (0..255 units)


def transmission(depth: np.ndarray, camera: Camera, visibility: float) -> np.ndarray:
    """Fog transmission ``exp(-3 r / V)`` over each pixel's ray length r: (H, W) float32 in 0..1, 0 where depth is
    0 (nothing rendered = infinitely far)."""
    import cv2

    r = ray_range(depth, camera)
    np.copyto(r, np.float32(0.0), where=~np.isfinite(r))
    r *= np.float32(-3.0 / max(visibility, 1e-6))
    t = cv2.exp(r)
    np.copyto(t, np.float32(0.0), where=~(depth > 0))
    return t


def blend(rgb: np.ndarray, scale: np.ndarray, terms) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8 ``rgb * scale + sum_i w_i * colour_i`` per pixel (rounded, clipped), with scale
    and each w_i (H, W) float32 and colour_i (3,) in 0..255: one pass per channel with cv2 on contiguous planes
    (numpy broadcasting of (H, W, 1) against (H, W, 3) is 10x slower)."""
    import cv2

    planes = cv2.split(np.ascontiguousarray(rgb))
    out = []
    for k in range(3):
        o = cv2.multiply(planes[k], scale, dtype=cv2.CV_32F)
        for w, colour in terms:
            cv2.scaleAdd(w, float(colour[k]), o, dst=o)
        out.append(cv2.convertScaleAbs(o))  # rounds and saturates; o >= 0 here
    return cv2.merge(out)


def fog(rgb: np.ndarray, depth: np.ndarray, camera: Camera, visibility: float, colour) -> np.ndarray:
    """Depth-attenuated fog. rgb (H, W, 3) uint8 -> float32 (H, W, 3) in 0..255."""
    import cv2

    t = transmission(depth, camera, visibility)
    ct = 1.0 - t
    c = np.asarray(colour, np.float64) * 255.0
    planes = cv2.split(np.ascontiguousarray(rgb))
    out = []
    for k in range(3):
        o = cv2.multiply(planes[k], t, dtype=cv2.CV_32F)
        cv2.scaleAdd(ct, float(c[k]), o, dst=o)
        out.append(o)
    return cv2.merge(out)


def _fog_u8(rgb: np.ndarray, depth: np.ndarray, camera: Camera, visibility: float, colour) -> np.ndarray:
    """:func:`fog` rounded to uint8, without the float image."""
    t = transmission(depth, camera, visibility)
    return blend(rgb, t, [(1.0 - t, np.asarray(colour, np.float64) * 255.0)])


def _up_facing(depth: np.ndarray, camera: Camera) -> np.ndarray:
    """(H, W) float32 in 0..1: how much each surface faces world +z (0 where nothing was rendered)."""
    up = facing(depth, camera, world_up_in_camera(camera))
    np.clip(up, 0.0, 1.0, out=up)
    return up


def _depth_layers(img: np.ndarray, depth: np.ndarray, z: np.ndarray, draw, n_bins: int = 6) -> np.ndarray:
    """Alpha (H, W) float32 of particles at depths ``z`` drawn by ``draw(layer, indices)`` (into a zeroed (H, W)
    float32 layer, in place), each depth bin hidden where the scene is nearer than the bin."""
    alpha = np.zeros(depth.shape, np.float32)
    if len(z) == 0:
        return alpha
    edges = np.linspace(float(z.min()), float(z.max()) + 1e-6, n_bins + 1)
    far = np.where(depth > 0, depth, np.float32(np.inf)).astype(np.float32, copy=False)
    layer = np.empty(depth.shape, np.float32)
    visible = np.empty(depth.shape, bool)
    for b in range(n_bins):
        idx = np.nonzero((z >= edges[b]) & (z < edges[b + 1]))[0]
        if len(idx) == 0:
            continue
        layer.fill(0.0)
        draw(layer, idx)
        zmid = 0.5 * (edges[b] + edges[b + 1])
        np.greater(far, zmid, out=visible)
        np.maximum(alpha, layer, out=alpha, where=visible)
    return alpha


def rain(rgb: np.ndarray, depth: np.ndarray, camera: Camera, D: float, cfg: WeatherConfig,
         rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8 with streaks, wet darkening and a little haze."""
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
    length = camera.fy * L / z
    width = np.maximum(1, np.rint(camera.fx * 0.0015 * D / z)).astype(int)
    strength = 0.18 + 0.3 * (zmin / z)
    dx, dy = np.sin(ang + jit), np.cos(ang + jit)

    # end points in 1/16 pixel (cv2's 4 fractional bits), rounded half to even like round()
    x0, y0 = np.rint(u * 16).astype(int).tolist(), np.rint(v * 16).astype(int).tolist()
    x1 = np.rint((u + dx * length) * 16).astype(int).tolist()
    y1 = np.rint((v + dy * length) * 16).astype(int).tolist()
    val, thick = strength.tolist(), width.tolist()

    def draw(layer, idx):
        for i in idx.tolist():
            cv2.line(layer, (x0[i], y0[i]), (x1[i], y1[i]), val[i], thick[i], cv2.LINE_AA, 4)

    a = _depth_layers(rgb, depth, z, draw)
    t = transmission(depth, camera, 14.0 * D)
    # wet darkening, then streaks over it, then haze: rgb * (1 - wet up^2) (1 - a) t + 215 a t + fog (1 - t)
    up = _up_facing(depth, camera)
    scale = up * up
    scale *= np.float32(-wet)
    scale += np.float32(1.0)
    at = a * t
    scale -= scale * a
    scale *= t
    return blend(rgb, scale, [(at, (215.0, 215.0, 215.0)), (1.0 - t, np.array([0.62, 0.64, 0.68]) * 255.0)])


def snow(rgb: np.ndarray, depth: np.ndarray, camera: Camera, D: float, cfg: WeatherConfig,
         rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8 with flakes, snow cover on up-facing surfaces and some fog."""
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
    # cover on up-facing surfaces, patterned in world coordinates:
    # c = cover * clip((up - 0.5) / 0.4, 0, 1) * clip(0.3 + pattern, 0, 1), 0 where nothing was rendered
    x, y = world_xy(depth, camera)
    pattern = world_noise_xy(x, y, grid, 0.04 * D)
    pattern += np.float32(0.3)
    np.clip(pattern, 0.0, 1.0, out=pattern)
    c = _up_facing(depth, camera)
    c -= np.float32(0.5)
    c *= np.float32(1 / 0.4)
    np.clip(c, 0.0, 1.0, out=c)
    pattern *= np.float32(cover)
    c *= pattern  # up is 0 where depth is 0, so c is too
    radius = 0.5 * camera.fx * size * sz / z

    # centres and radii in 1/16 pixel (cv2's 4 fractional bits), rounded half to even like round()
    cx, cy = np.rint(u * 16).astype(int).tolist(), np.rint(v * 16).astype(int).tolist()
    r16 = np.maximum(1, np.rint(radius * 16).astype(int)).tolist()

    def draw(layer, idx):
        for i in idx.tolist():
            cv2.circle(layer, (cx[i], cy[i]), r16[i], 0.9, -1, cv2.LINE_AA, 4)
        if len(idx) and radius[idx].mean() > 2.5:  # near flakes are out of focus
            cv2.GaussianBlur(layer, (0, 0), float(radius[idx].mean()) * 0.35, dst=layer)

    a = _depth_layers(rgb, depth, z, draw)
    t = transmission(depth, camera, 9.0 * D)
    # cover, then flakes over it, then fog:
    # rgb (1 - c)(1 - a) t + white c (1 - a) t + 245 a t + fog (1 - t)
    na_t = 1.0 - a
    na_t *= t
    scale = 1.0 - c
    scale *= na_t
    c *= na_t
    a *= t
    return blend(rgb, scale, [(c, (240.0, 244.0, 250.0)), (a, (245.0, 245.0, 245.0)),
                              (1.0 - t, np.array([0.82, 0.84, 0.88]) * 255.0)])


def _low_light_pmf(lam: np.ndarray, photons: float, read: float) -> np.ndarray:
    """Distribution of the low-light output level for each input level: lam (V,) expected photon counts ->
    (V, 256) float64, P[v, j] = P(j = round(round(255 min(K / photons, 1)^(1/2.2)) + read Z)), K ~ Poisson(lam[v])
    (the output clipped to 0..255).

    Counts 0 .. max(lam) + 10 sd + 10 are summed exactly; above 4096 counts (lam beyond ~3400) each row sums a
    window of +-10 sd around its lam, sampled every few counts (each sample weighted by the probability of its
    stretch, which is under a tenth of a standard deviation wide)."""
    from scipy.special import gammaln

    lam = np.asarray(lam, np.float64)
    V = lam.shape[0]
    loglam = np.log(np.maximum(lam, 1e-300))[:, None]
    top = int(np.ceil(lam.max() + 10 * np.sqrt(lam.max()) + 10))
    if top < 4096:  # every count, shared by all rows
        k = np.arange(top + 1, dtype=np.float64)
        p = np.exp(k[None, :] * loglam - (lam[:, None] + gammaln(k + 1)[None, :]))
        level = np.floor(255.0 * np.minimum(k / photons, 1.0) ** (1 / 2.2) + 0.5).astype(np.int64)
        starts = np.flatnonzero(np.diff(level, prepend=-1))  # level is non-decreasing in k: sum its runs
        hist = np.zeros((V, 256))
        hist[:, level[starts]] = np.add.reduceat(p, starts, axis=1)
    else:
        sd = np.sqrt(lam)
        lo = np.floor(np.maximum(lam - 10 * sd - 10, 0.0))
        width = np.ceil(lam + 10 * sd + 10) - lo + 1
        n = int(min(width.max(), 4096))
        step = np.maximum(1.0, np.ceil(width / n))
        k = lo[:, None] + step[:, None] * np.arange(n)[None, :]
        k += (0.5 * (step - 1))[:, None]  # a sample stands for the middle of its stretch of counts
        p = np.exp(k * loglam - lam[:, None] - gammaln(k + 1) + np.log(step)[:, None])
        level = np.floor(255.0 * np.minimum(k / photons, 1.0) ** (1 / 2.2) + 0.5).astype(np.int64)
        hist = np.bincount((np.arange(V)[:, None] * 256 + level).reshape(-1), weights=p.reshape(-1),
                           minlength=V * 256).reshape(V, 256)
    hist /= hist.sum(axis=1, keepdims=True)
    return add_read_noise(hist, read)


def low_light(rgb: np.ndarray, cfg: WeatherConfig, rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8: exposure scaled by the gain in linear light, Poisson photon counts (photons at
    full white), gamma, Gaussian read noise (std in 0..255 units), requantised.

    The output level of a pixel depends only on its input level and its noise, so the distribution of the output
    for each of the 256 input levels is computed exactly (:func:`_low_light_pmf`) and every pixel draws from its
    level's inverse-CDF table with a 12-bit uniform (probabilities resolved to 1/4096)."""
    gain = float(cfg.low_light_gain.sample(rng))
    photons = float(cfg.low_light_photons.sample(rng))
    read = float(cfg.low_light_read_noise.sample(rng))
    lam = _TO_LINEAR.astype(np.float64) * (gain * photons)  # expected photon counts per input level
    table = quantile_table(_low_light_pmf(lam, photons, read), 12)
    return draw_from_tables(table, rgb, rng)


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
        return _fog_u8(rgb, depth, cam, V, np.array([0.97, 0.98, 1.0]) * b)
    if kind == "haze":
        V = float(cfg.haze_visibility.sample(rng)) * D
        b = float(cfg.haze_brightness.sample(rng))
        return _fog_u8(rgb, depth, cam, V, np.array([0.84, 0.9, 1.0]) * b)
    if kind == "rain":
        return rain(rgb, depth, cam, D, cfg, rng)
    if kind == "snow":
        return snow(rgb, depth, cam, D, cfg, rng)
    return low_light(rgb, cfg, rng)


class WeatherFamily(Family):
    name = "weather"
    stream_id = 7
    order = 80
    Config = WeatherConfig

    def after_render(self, ctx: SampleContext) -> None:
        ctx.rgb = apply(ctx.rgb, ctx.frame.depth, ctx.scene, self.cfg, self.spec.camera.look_at, ctx.rng)
