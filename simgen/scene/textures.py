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


# cv2's stroke fonts, for the printed-packaging textures (lettering of several weights and styles)
_PRINT_FONTS = (0, 1, 2, 3, 4, 6, 7)  # HERSHEY_SIMPLEX, PLAIN, DUPLEX, COMPLEX, TRIPLEX, SCRIPT_SIMPLEX, _COMPLEX
_PRINT_INKS = np.array([[0.80, 0.05, 0.08], [0.05, 0.05, 0.06], [0.05, 0.20, 0.65], [0.98, 0.98, 0.97],
                        [0.98, 0.80, 0.05], [0.05, 0.50, 0.15], [0.90, 0.45, 0.05]], np.float32)
_PRINT_CHARS = "ABCDEFGHIJKLMNOPRSTUVWXYZ0123456789"


def _print_colour(rng: np.random.Generator) -> np.ndarray:
    """An ink: mostly the primaries of packaging print (red, black, blue, white, yellow, green, orange)."""
    if rng.random() < 0.75:
        c = _PRINT_INKS[int(rng.integers(len(_PRINT_INKS)))]
        return np.clip(c + rng.normal(0, 0.05, 3), 0, 1).astype(np.float32)
    return rng.random(3).astype(np.float32)


def _ink(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in np.clip(_print_colour(rng) * 255.0 + 0.5, 0, 255))
    return r, g, b


def make_print(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """A printed-packaging texture: a paper or card background, colour bands, lines of lettering in several
    fonts, sizes and inks, round logos and sometimes a barcode. Clutter that wears it teaches a detector that
    printed boxes and cans which are not its classes are background. Returns (size, size, 3) uint8 (RGB)."""
    import cv2

    bg = _print_colour(rng) if rng.random() < 0.5 else np.clip(0.85 + rng.normal(0, 0.06, 3), 0, 1)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = np.clip(bg * 255.0 + 0.5, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 4))):  # bands and panels
        c = _ink(rng)
        if rng.random() < 0.6:
            y0, h = int(rng.integers(0, size)), int(rng.integers(size // 20, size // 3))
            cv2.rectangle(img, (0, y0), (size - 1, min(size - 1, y0 + h)), c, -1)
        else:
            x0, y0 = (int(v) for v in rng.integers(0, size * 3 // 4, 2))
            w, h = (int(v) for v in rng.integers(size // 8, size // 2, 2))
            cv2.rectangle(img, (x0, y0), (min(size - 1, x0 + w), min(size - 1, y0 + h)), c, -1)
    for _ in range(int(rng.integers(0, 3))):  # round logos
        c = _ink(rng)
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        axes = tuple(int(v) for v in rng.integers(size // 16, size // 5, 2))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, c, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 8))):  # lettering
        text = "".join(_PRINT_CHARS[int(i)] for i in rng.integers(0, len(_PRINT_CHARS), int(rng.integers(2, 10))))
        if rng.random() < 0.5:
            text = text.lower() if rng.random() < 0.5 else text.capitalize()
        font = int(_PRINT_FONTS[int(rng.integers(len(_PRINT_FONTS)))])
        scale = float(rng.uniform(0.4, 3.5)) * size / 512
        thick = max(1, int(round(scale * rng.uniform(1.0, 3.5))))
        org = (int(rng.integers(-size // 8, size * 3 // 4)), int(rng.integers(size // 12, size)))
        c = _ink(rng)
        cv2.putText(img, text, org, font, scale, c, thick, cv2.LINE_AA)
    if rng.random() < 0.3:  # a barcode on a white label
        x0, y0 = (int(v) for v in rng.integers(0, size * 2 // 3, 2))
        w, h = size // 4, size // 8
        cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), (250, 250, 250), -1)
        x = x0 + 4
        while x < x0 + w - 4:
            bw = int(rng.integers(1, 4))
            if rng.random() < 0.55:
                cv2.rectangle(img, (x, y0 + 4), (x + bw - 1, y0 + h - 4), (15, 15, 15), -1)
            x += bw
    return img
