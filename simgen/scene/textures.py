"""Procedural textures (pure numpy). All return ``(H, W, 3) uint8``."""

from __future__ import annotations

import numpy as np

from simgen.errors import ConfigError

# every procedural texture make_texture knows (scene files' texture:, the material/background/distractor banks)
PROCEDURAL_TEXTURES = ("checker", "stripes", "noise", "gradient", "wood", "plain")


def _smooth_noise(rng: np.random.Generator, size: int, octaves: int = 4) -> np.ndarray:
    """Value noise in [0, 1]: (size, size) float32, sums of bilinearly upsampled random grids."""
    import cv2

    out = np.zeros((size, size), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        grid = rng.random((cells, cells), dtype=np.float32)
        out += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _tint(gray: np.ndarray, color: np.ndarray, color2: np.ndarray) -> np.ndarray:
    """Blend two RGB colours (0..1) by a (H, W) weight in 0..1 -> uint8 image."""
    img = color2[None, None, :] * gray[..., None] + color[None, None, :] * (1.0 - gray[..., None])
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def make_texture(kind: str, rng: np.random.Generator, color: np.ndarray, size: int = 256,
                 color2: np.ndarray | None = None, frequency: float | None = None) -> np.ndarray:
    """Make a procedural texture.

    kind: checker | stripes | noise | gradient | wood | plain. ``color``/``color2``: (3,) RGB in 0..1
    (``color2`` defaults to a darker/brighter variant). Returns (size, size, 3) uint8.
    """
    color = np.asarray(color, np.float32)
    if color2 is None:
        color2 = np.clip(color * 0.45 + (0.35 if color.mean() < 0.3 else 0.0), 0, 1)
    color2 = np.asarray(color2, np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == "plain":
        g = np.zeros((size, size), np.float32)
    elif kind == "checker":
        f = frequency or float(rng.integers(4, 12))
        g = ((np.floor(xx * f) + np.floor(yy * f)) % 2).astype(np.float32)
    elif kind == "stripes":
        f = frequency or float(rng.integers(3, 14))
        angle = rng.uniform(0, np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        g = (np.sin(2 * np.pi * f * t) > 0).astype(np.float32)
    elif kind == "noise":
        g = _smooth_noise(rng, size)
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        g = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == "wood":
        n = _smooth_noise(rng, size, octaves=3)
        f = frequency or 18.0
        rings = np.sin(2 * np.pi * (yy * f + 2.5 * n))
        g = 0.5 + 0.5 * rings
        g = 0.35 * g + 0.15 * _smooth_noise(rng, size, octaves=5)
        color2 = np.clip(color * 0.6, 0, 1)
    else:
        raise ConfigError(f"unknown procedural texture {kind!r}; use one of {', '.join(PROCEDURAL_TEXTURES)}, or an "
                          f"image file path")
    return _tint(g, color, color2)
