"""Pure numpy helpers shared by the randomization families: colour, depth geometry, sRGB <-> linear, noise."""

from __future__ import annotations

import colorsys
import math

import numpy as np

from simgen.scene.model import Camera


# ---------------------------------------------------------------------- colour

def kelvin_to_rgb(kelvin: float) -> np.ndarray:
    """Black-body colour temperature -> (3,) float64 RGB in 0..1, brightest channel 1 (Tanner Helland's fit,
    1000 K .. 40000 K)."""
    t = min(max(float(kelvin), 1000.0), 40000.0) / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * math.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    rgb = np.clip(np.array([r, g, b]), 0.0, 255.0) / 255.0
    return rgb / max(float(rgb.max()), 1e-6)


def hsv_rgb(h: float, s: float, v: float) -> np.ndarray:
    """HSV (h in turns, s, v in 0..1) -> (3,) float64 RGB."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)))


def rotate_hue(rgb, turns: float) -> np.ndarray:
    """(3,) RGB in 0..1 with its hue rotated by ``turns`` (saturation and value kept)."""
    h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in np.clip(rgb, 0, 1)[:3]))
    return np.array(colorsys.hsv_to_rgb((h + turns) % 1.0, s, v))


_TO_LINEAR = np.power(np.arange(256, dtype=np.float64) / 255.0, 2.2).astype(np.float32)


def srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> float32 linear light in 0..1 (gamma 2.2 approximation, a lookup table)."""
    return _TO_LINEAR[rgb_u8]


def linear_to_srgb_u8(lin: np.ndarray) -> np.ndarray:
    return to_u8(np.power(np.clip(lin, 0.0, 1.0), 1.0 / 2.2) * 255.0)


def to_u8(img: np.ndarray) -> np.ndarray:
    """Float image in 0..255 -> uint8 (rounded half up, clipped). The input is not modified.

    Adds 0.5, clips in place and truncates: 7x faster than ``rint`` + ``clip`` at 640x480 (0.24 vs 1.7 ms)."""
    y = np.add(img, np.float32(0.5), dtype=np.float32)
    np.clip(y, 0.0, 255.0, out=y)
    return y.astype(np.uint8)


def fast_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """float32 noise of zero mean and unit variance: an Irwin-Hall sum of four uniform bytes.

    Twice as fast as ``rng.standard_normal(dtype=float32)`` (4.4 vs 9.2 ms for a 640x480x3 image) and close to
    Gaussian (kurtosis 2.7 instead of 3, tails bounded at 3.46 sigma): for pixel read and shot noise of a few
    grey levels the difference is invisible.
    """
    n = int(np.prod(shape))
    b = rng.integers(0, 256, size=(4, n), dtype=np.uint8)
    s = b[0].astype(np.uint16)
    s += b[1]
    s += b[2]
    s += b[3]
    z = s.astype(np.float32)
    z -= np.float32(510.0)
    z *= np.float32(1.0 / np.sqrt(4 * (256 ** 2 - 1) / 12.0))
    return z.reshape(shape)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) -> (...) Rec. 709 luma, same scale as the input."""
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


# ---------------------------------------------------------------------- depth geometry

def pixel_rays(camera: Camera, x0: int = 0, y0: int = 0, width: int | None = None,
               height: int | None = None) -> np.ndarray:
    """(h, w, 3) float32 camera-frame rays (x/z, y/z, 1) through pixel centres (OpenCV frame), for the window of
    the image starting at pixel (x0, y0) (the whole image by default)."""
    h = camera.height - y0 if height is None else height
    w = camera.width - x0 if width is None else width
    u = (np.arange(x0, x0 + w, dtype=np.float32) + 0.5 - camera.cx) / camera.fx
    v = (np.arange(y0, y0 + h, dtype=np.float32) + 0.5 - camera.cy) / camera.fy
    rays = np.empty((h, w, 3), np.float32)
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays[..., 2] = 1.0
    return rays


def backproject(depth: np.ndarray, camera: Camera, x0: int = 0, y0: int = 0) -> np.ndarray:
    """depth (h, w) float32 metres along z (0 = nothing), a window of the image at pixel (x0, y0) -> (h, w, 3)
    float32 camera-frame points."""
    h, w = depth.shape
    return pixel_rays(camera, x0, y0, w, h) * depth[..., None]


def ray_range(depth: np.ndarray, camera: Camera) -> np.ndarray:
    """Distance from the camera centre to each pixel's surface point (H, W) float32; inf where depth is 0."""
    r = depth * np.linalg.norm(pixel_rays(camera), axis=2)
    return np.where(depth > 0, r, np.inf).astype(np.float32)


def _depth_gradient(z: np.ndarray, valid: np.ndarray, limit: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel dz/du (axis 1) or dz/dv (axis 0): mean of the forward and backward differences that join two
    valid pixels without a jump larger than ``limit``. Returns (gradient, ok)."""
    d = np.diff(z, axis=axis)
    if axis == 1:
        ok = valid[:, 1:] & valid[:, :-1] & (np.abs(d) < limit[:, 1:])
        F = np.zeros_like(z)
        B = np.zeros_like(z)
        okF = np.zeros(z.shape, bool)
        okB = np.zeros(z.shape, bool)
        F[:, :-1], okF[:, :-1] = d, ok
        B[:, 1:], okB[:, 1:] = d, ok
    else:
        ok = valid[1:] & valid[:-1] & (np.abs(d) < limit[1:])
        F = np.zeros_like(z)
        B = np.zeros_like(z)
        okF = np.zeros(z.shape, bool)
        okB = np.zeros(z.shape, bool)
        F[:-1], okF[:-1] = d, ok
        B[1:], okB[1:] = d, ok
    n = okF.astype(np.float32) + okB
    g = (F * okF + B * okB) / np.maximum(n, 1.0)
    return g, n > 0


def normals_from_depth(depth: np.ndarray, camera: Camera, x0: int = 0, y0: int = 0) -> np.ndarray:
    """Camera-frame unit surface normals (h, w, 3) float32 facing the camera, for a depth window at pixel (x0, y0)
    (the whole image by default); (0, 0, 0) where depth is 0 or no neighbour joins smoothly (silhouettes).

    From the depth gradient: with P = Z (a, b, 1), a = (u - cx) / fx, b = (v - cy) / fy,
    dP/du x dP/dv is parallel to (-fx Z_u, -fy Z_v, fx a Z_u + fy b Z_v + Z).
    """
    z = depth.astype(np.float32, copy=False)
    h, w = z.shape
    valid = z > 0
    limit = z * np.float32(8.0 / camera.fx) + np.float32(0.002)  # larger steps are silhouette edges
    zu, oku = _depth_gradient(z, valid, limit, 1)
    zv, okv = _depth_gradient(z, valid, limit, 0)
    a = ((np.arange(x0, x0 + w, dtype=np.float32) + 0.5 - camera.cx) / camera.fx)[None, :]
    b = ((np.arange(y0, y0 + h, dtype=np.float32) + 0.5 - camera.cy) / camera.fy)[:, None]
    fx, fy = np.float32(camera.fx), np.float32(camera.fy)
    n = np.empty((h, w, 3), np.float32)
    n[..., 0] = -fx * zu
    n[..., 1] = -fy * zv
    n[..., 2] = fx * a * zu + fy * b * zv + z
    ok = valid & oku & okv
    norm = np.sqrt((n * n).sum(2))
    # face the camera: the normal points against the viewing ray (a, b, 1)
    sign = np.where(n[..., 0] * a + n[..., 1] * b + n[..., 2] > 0, -1.0, 1.0).astype(np.float32)
    scale = np.where(ok & (norm > 1e-12), sign / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
    return n * scale[..., None]


def world_up_in_camera(camera: Camera) -> np.ndarray:
    """World +z expressed in the camera frame (3,)."""
    return camera.T_world_cam[:3, :3].T @ np.array([0.0, 0.0, 1.0])


def camera_distance(camera: Camera, look_at) -> float:
    return float(np.linalg.norm(camera.T_world_cam[:3, 3] - np.asarray(look_at, np.float64)))


# ---------------------------------------------------------------------- noise

def value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int, octaves: int = 3) -> np.ndarray:
    """Smooth noise (H, W) float32 in 0..1 (bilinear upsampled random grids)."""
    import cv2

    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        c = max(2, cells * 2 ** o)
        grid = rng.random((c, c), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)
        tot += amp
        amp *= 0.5
    out /= tot
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def world_noise(points_world: np.ndarray, grid: np.ndarray, cell: float) -> np.ndarray:
    """Value noise attached to the world: bilinear lookup of a periodic (G, G) ``grid`` at the world x, y of each
    point (..., 3) with cells of ``cell`` metres. Returns (...) float32."""
    g = grid.shape[0]
    x = points_world[..., 0] / cell
    y = points_world[..., 1] / cell
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    xi, yi = x0.astype(np.int64) % g, y0.astype(np.int64) % g
    x1, y1 = (xi + 1) % g, (yi + 1) % g
    a = grid[yi, xi] * (1 - fx) + grid[yi, x1] * fx
    b = grid[y1, xi] * (1 - fx) + grid[y1, x1] * fx
    return (a * (1 - fy) + b * fy).astype(np.float32)


def tangent_basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane orthogonal to unit normal n (3,)."""
    a = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    t1 = np.cross(n, a)
    t1 /= np.linalg.norm(t1)
    t2 = np.cross(n, t1)
    return t1, t2


def project_cam(points_cam: np.ndarray, camera: Camera) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixel coordinates (pixel centres at integer + 0.5)."""
    z = np.maximum(points_cam[:, 2], 1e-6)
    return np.stack([camera.fx * points_cam[:, 0] / z + camera.cx, camera.fy * points_cam[:, 1] / z + camera.cy], 1)
