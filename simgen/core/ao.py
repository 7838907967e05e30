"""Screen-space ambient occlusion from a rendered depth map (pure numpy/OpenCV, deterministic).

Contact shadows make resting objects look grounded: where a surface point is surrounded by nearby geometry (the
crease where a box meets the table, the inside of a mug, the gap between two touching objects) less of the
environment's light reaches it. Rasterisers miss this; path tracers get it for free.

Method (the "Alchemy" estimator, McGuire et al. 2011, on a half-resolution depth map): for each pixel with
camera-frame point P and normal N, take ``n_samples`` points on a disk of world radius ``radius`` around it (a
fixed spiral, rotated per pixel by a fixed 4x4 pattern, so no random numbers), read the surface point Q the camera
sees there, and accumulate ``max(0, (Q - P) . N - bias) / (|Q - P|^2 + eps)``. Occluders farther than ``radius``
fade out. The result is blurred 4x4 (to remove the rotation pattern) and upsampled; background pixels (depth 0)
are unoccluded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simgen.core.imaging import _TO_LINEAR, backproject, normals_from_depth

if TYPE_CHECKING:  # annotations only
    from simgen.scene.model import Camera


def _spiral(n: int) -> np.ndarray:
    """(n, 2) float32 points of a golden-angle spiral on the unit disk (radii sqrt-spaced, never 0)."""
    k = np.arange(n, dtype=np.float64)
    r = np.sqrt((k + 0.5) / n)
    a = k * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([r * np.cos(a), r * np.sin(a)], 1).astype(np.float32)


def _half(camera: "Camera", w: int, h: int):
    from dataclasses import replace

    sx, sy = w / camera.width, h / camera.height
    return replace(camera, fx=camera.fx * sx, fy=camera.fy * sy, cx=camera.cx * sx, cy=camera.cy * sy,
                   width=w, height=h)


def ambient_occlusion(depth: np.ndarray, camera: "Camera", radius: float = 0.04, n_samples: int = 12,
                      bias: float = 0.002, strength: float = 1.0) -> np.ndarray:
    """Ambient visibility in 0..1 per pixel: (H, W) float32, 1 = open, lower = occluded nearby.

    depth: (H, W) float32 metres along the camera z axis (0 = nothing rendered); camera: the frame's camera;
    radius: world-space reach of occluders (metres); strength: multiplies the occlusion before clipping.
    """
    import cv2

    H, W = depth.shape
    w, h = max(1, W // 2), max(1, H // 2)
    z = cv2.resize(np.ascontiguousarray(depth, np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    cam = _half(camera, w, h)
    valid = z > 0
    if not valid.any():
        return np.ones((H, W), np.float32)
    P = backproject(z, cam)
    N = normals_from_depth(z, cam)  # unit normals facing the camera (0 where undefined)
    has_n = np.einsum("ijk,ijk->ij", N, N) > 0.25
    # per-pixel disk radius in pixels (world radius projected at the pixel's depth)
    zr = np.where(valid, z, np.float32(1.0))
    r_px = np.float32(radius * cam.fx) / zr
    np.minimum(r_px, np.float32(0.12 * max(w, h)), out=r_px)
    # per-pixel rotation of the spiral: a fixed 4x4 interleave
    yy, xx = np.mgrid[0:h, 0:w]
    ang = ((xx % 4) * 4 + (yy % 4)).astype(np.float32) * np.float32(2.0 * math.pi / 16.0)
    ca, sa = np.cos(ang), np.sin(ang)
    occ = np.zeros((h, w), np.float32)
    fx_ = xx.astype(np.float32)
    fy_ = yy.astype(np.float32)
    eps = np.float32(1e-4)
    for ox, oy in _spiral(n_samples):
        dx = (ox * ca - oy * sa) * r_px
        dy = (ox * sa + oy * ca) * r_px
        mx, my = fx_ + dx, fy_ + dy
        Q = cv2.remap(P, mx, my, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        qz = Q[..., 2]
        v = Q - P
        vv = np.einsum("ijk,ijk->ij", v, v)
        vn = np.einsum("ijk,ijk->ij", v, N)
        contrib = np.maximum(vn - np.float32(bias) * zr, 0.0) / (vv + eps)
        # occluders beyond the radius fade out; nothing where the sample hit the background
        fall = np.clip(1.0 - vv / np.float32(radius * radius * 4.0), 0.0, 1.0)
        contrib *= fall * (qz > 0)
        occ += contrib
    occ *= np.float32(2.0 * radius * 0.15 / n_samples)  # sigma of the Alchemy estimator, scaled to the radius
    vis = np.clip(1.0 - np.float32(strength) * occ, 0.0, 1.0)
    vis[~(valid & has_n)] = 1.0
    vis = cv2.blur(vis, (4, 4))
    vis = cv2.resize(vis, (W, H), interpolation=cv2.INTER_LINEAR)
    vis[~(depth > 0)] = 1.0
    return vis


def apply_ao(rgb: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """Darken an sRGB image (H, W, 3) uint8 by ambient visibility (H, W) in linear light -> uint8."""
    lin = _TO_LINEAR[rgb]  # (H, W, 3) float32 in 0..1
    lin *= visibility[..., None]
    out = np.power(lin, np.float32(1.0 / 2.2)) * np.float32(255.0) + np.float32(0.5)
    return np.clip(out, 0, 255).astype(np.uint8)
