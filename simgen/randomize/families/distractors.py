"""Distractors: unlabelled primitives and meshes (category None) that occlude the labelled objects.

The renderer gives them instance ids, so they hide what is behind them in the id map; labels skip them.
Their meshes are made once per worker (a bank of textured primitives, plus mesh files from ``meshes``).
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import numpy as np

from simgen.errors import AssetError
from simgen.randomize.families.assets import bank_rng, random_colour, textured_variant
from simgen.core.geometry import pose, random_rotation
from simgen.randomize.schema import DistractorsConfig
from simgen.scene.model import ObjectInstance, Scene
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)

PRIMITIVE_PREFIX = "__distractor_prim"
MESH_PREFIX = "__distractor_mesh"
_TEXTURES = ["checker", "stripes", "noise", "gradient", "wood", "plain"]


def median_object_radius(spec: SceneSpec, catalog) -> float:
    r = [catalog[k].radius * float(np.mean(o.scale)) for k, o in zip(catalog.object_keys, spec.objects)]
    return float(np.median(r)) if r else 0.05


def _unit_primitive(shape: str, rng: np.random.Generator):
    """A primitive with random proportions, scaled to bounding radius 1."""
    from simgen.scene.catalog import _primitive

    a = rng.uniform(0.4, 1.0, size=3)
    size = {"box": [a[0], a[1], a[2]], "cylinder": [0.5 * a[0], a[1] * 1.5], "sphere": [1.0],
            "capsule": [0.35 * a[0], a[1]], "cone": [0.6 * a[0], a[1] * 1.5],
            "torus": [1.0, 0.15 + 0.2 * a[0]]}.get(shape)
    if size is None:  # a shape added to the catalog later (nut, washer, bracket, ...) with its own sizes
        from simgen.scene.spec import SHAPE_SIZES

        size = list(rng.uniform(0.3, 1.0, size=SHAPE_SIZES[shape]))
        size = sorted(size, reverse=True)
    tm = _primitive(shape, size)
    tm.apply_translation(-tm.bounds.mean(0))
    tm.apply_scale(1.0 / float(np.linalg.norm(tm.vertices, axis=1).max()))
    return tm


def build_bank(cfg: DistractorsConfig, spec: SceneSpec, catalog, assets_root: Path) -> tuple[list[str], list[str]]:
    """Add distractor meshes to ``catalog``; returns (primitive keys, mesh keys). Radii are 1 for primitives;
    mesh distractors keep their size and are scaled per instance."""
    from simgen.scene.catalog import mesh_from_trimesh, primitive_collision

    rng = bank_rng("distractors", cfg.bank_seed)
    prim_keys = []
    for j in range(cfg.primitive_bank):
        shape = cfg.shapes[j % len(cfg.shapes)]
        tm = _unit_primitive(shape, rng)
        if shape == "box":
            tm = tm.copy()
            tm.unmerge_vertices()
        key = f"{PRIMITIVE_PREFIX}{j}:{shape}__"
        m = mesh_from_trimesh(key, tm, texture=None, uv=None, base_color=random_colour(rng), metallic=0.0,
                              roughness=float(rng.uniform(0.3, 0.9)), source=f"distractor {shape}")
        m.collision = primitive_collision(shape, m.vertices)
        kind = _TEXTURES[int(rng.integers(len(_TEXTURES)))]
        catalog.meshes[key] = textured_variant(m, key, kind, rng)
        prim_keys.append(key)
    mesh_keys = []
    for path in _mesh_files(cfg, spec, assets_root):
        if len(mesh_keys) >= cfg.max_meshes:
            break
        from simgen.scene.catalog import load_mesh_file

        try:
            tm, uv, tex = load_mesh_file(path, "distractor", 256)
        except AssetError as exc:
            log.warning("distractor mesh skipped: %s", exc)
            continue
        if not _has_image_texture(tex):  # trimesh gives UV meshes without an image a uniform placeholder
            tex, uv = None, None
        if tex is not None and cfg.skip_textured:
            continue
        tm.apply_translation(-tm.bounds.mean(0))
        key = f"{MESH_PREFIX}{len(mesh_keys)}:{path.parent.name}/{path.name}__"
        m = mesh_from_trimesh(key, tm, texture=None, uv=None, base_color=random_colour(rng), metallic=0.0,
                              roughness=float(rng.uniform(0.3, 0.9)), source=str(path))
        if tex is not None:
            m.texture, m.uv, m.base_color = tex, uv, np.ones(4, np.float32)
        catalog.meshes[key] = m
        mesh_keys.append(key)
    if cfg.meshes:
        log.info("distractors: %d primitives, %d meshes", len(prim_keys), len(mesh_keys))
    return prim_keys, mesh_keys


def _has_image_texture(tex) -> bool:
    if tex is None:
        return False
    flat = np.asarray(tex).reshape(-1, 3)
    return bool((flat != flat[0]).any())


def _mesh_files(cfg: DistractorsConfig, spec: SceneSpec, assets_root: Path) -> list[Path]:
    own = set()
    for o in spec.objects:
        if o.mesh:
            own.add((Path(assets_root) / o.mesh).resolve())
    out: list[Path] = []
    for pattern in cfg.meshes:
        p = Path(pattern).expanduser()
        pat = str(p if p.is_absolute() else Path(assets_root) / p)
        for f in sorted(glob.glob(pat)):
            fp = Path(f).resolve()
            if fp.is_file() and fp not in own and fp not in out:
                out.append(fp)
    return out


def add(scene: Scene, cfg: DistractorsConfig, spec: SceneSpec, catalog, prim_keys: list[str],
        mesh_keys: list[str], rng: np.random.Generator) -> Scene:
    """Append distractors (ids after the objects') at drop poses above the placement area."""
    P = spec.placement
    r0 = median_object_radius(spec, catalog)
    n = int(cfg.count.sample(rng))
    half = np.asarray(P.half_extent, np.float64) * float(cfg.area_scale.sample(rng))
    placed = []
    for o in scene.objects:
        m = catalog[o.asset_key]
        r = m.radius * o.scale
        placed.append((o.T_world_obj[:2, 3].copy(), r, o.T_world_obj[2, 3] + r))
    objects = list(scene.objects)
    next_id = max((o.instance_id for o in objects), default=0) + 1
    if not prim_keys and not mesh_keys:
        return scene
    for _ in range(n):
        use_mesh = bool(rng.random() < float(cfg.mesh_probability.sample(rng))) and bool(mesh_keys)
        keys = mesh_keys if use_mesh or not prim_keys else prim_keys
        key = keys[int(rng.integers(len(keys)))]
        m = catalog[key]
        s = float(cfg.size_scale.sample(rng)) * r0 / max(m.radius, 1e-6)
        R = random_rotation(rng)
        xy = rng.uniform(-1, 1, size=2) * half
        r = m.radius * s
        z = r + float(rng.uniform(*P.drop_height))
        for (pxy, pr, ptop) in placed:
            if np.linalg.norm(xy - pxy) < r + pr:
                z = max(z, ptop + r + 0.005)
        placed.append((xy, r, z + r))
        objects.append(ObjectInstance(instance_id=next_id, asset_key=key, category=None, scale=s,
                                      T_world_obj=pose(R, [xy[0], xy[1], z])))
        next_id += 1
    scene.params["distractors"] = n
    return scene.with_objects(objects)
