"""Meshes that families add to the catalog once per worker (texture banks, distractors). Pure trimesh/numpy."""

from __future__ import annotations

import fnmatch
import logging
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from simgen.core.imaging import hsv_rgb
from simgen.scene.catalog import MeshData, triplanar_uv
from simgen.scene.texture_bank import list_textures, load_texture, tile_size_m, validate_textures
from simgen.scene.texture_bank import triplanar_uv as metric_triplanar_uv
from simgen.scene.textures import make_texture

log = logging.getLogger(__name__)


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


def matching(paths: list[Path], globs: list[str], what: str = "files") -> list[Path]:
    """The files whose stem matches one of the scene's ``globs`` (case-insensitive). Empty globs, or globs that
    match none of these files (a user's own folder with other names), select every file (with a warning)."""
    if not globs:
        return list(paths)
    out = [p for p in paths if any(fnmatch.fnmatch(p.stem.lower(), g.lower()) for g in globs)]
    if not out:
        log.warning("the scene's globs %s match none of the %d %s; using all of them", globs, len(paths), what)
        return list(paths)
    return out


def photo_files(folder, globs: list[str], key: str) -> list[Path]:
    """Texture photos of ``folder`` the scene's ``globs`` select, each decoded once (one-line error if bad)."""
    files = matching(list_textures(folder, key=key), globs, f"textures of {key}")
    validate_textures(files)
    return files


def photo_variant(m: MeshData, key: str, path: Path, rng: np.random.Generator, tile_scale: float,
                   max_size: int, roughness: float) -> MeshData:
    """``m`` (flat-shaded: one normal per face corner) wearing the photo at ``path``, tiled at its real-world
    size times ``tile_scale``, at a random offset."""
    lo, hi = tile_size_m(path)
    tile = float(rng.uniform(lo, hi)) * tile_scale
    uv = metric_triplanar_uv(m.vertices, m.normals, tile) + rng.random(2).astype(np.float32)
    return replace(m, key=key, texture=load_texture(path, max_size), uv=uv.astype(np.float32),
                   base_color=np.ones(4, np.float32), roughness=roughness, source=f"{m.source} + photo {path.name}")
