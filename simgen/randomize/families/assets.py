"""Meshes that families add to the catalog once per worker (texture banks, distractors). Pure trimesh/numpy."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from simgen.core.imaging import hsv_rgb
from simgen.scene.catalog import MeshData, triplanar_uv
from simgen.scene.textures import make_texture


def bank_rng(*parts) -> np.random.Generator:
    """Generator for start-up content (banks): depends on names and the config's bank seed only."""
    return np.random.default_rng(zlib.crc32("/".join(str(p) for p in parts).encode()))


def mirror_tiled(tex: np.ndarray) -> np.ndarray:
    """(S, S, 3) texture -> (2S, 2S, 3) mirrored copies: it tiles without seams (procedural noise does not)."""
    top = np.concatenate([tex, tex[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.concatenate([top, top[::-1]], axis=0))


def random_colour(rng: np.random.Generator, sat=(0.2, 0.9), val=(0.25, 0.95)) -> np.ndarray:
    return hsv_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val))


def textured_variant(m: MeshData, key: str, kind: str, rng: np.random.Generator, colour=None,
                     size: int = 256) -> MeshData:
    """Copy of ``m`` (same geometry, so the same physics hull) wearing a procedural texture."""
    colour = random_colour(rng) if colour is None else np.asarray(colour, np.float64)
    colour2 = random_colour(rng) if rng.random() < 0.5 else None
    tex = make_texture(kind, rng, colour, size, color2=colour2)
    ext = float(np.max(m.vertices.max(0) - m.vertices.min(0)))
    uv = triplanar_uv(m.vertices, m.normals, float(rng.uniform(1.0, 3.0)) / max(ext, 1e-6))
    return replace(m, key=key, texture=tex, uv=uv, base_color=np.ones(4, np.float32),
                   source=f"{m.source} + {kind} texture")
