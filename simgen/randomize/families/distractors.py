"""Distractors: unlabelled primitives and meshes (category None) that occlude the labelled objects.

The renderer gives them instance ids, so they hide what is behind them in the id map; labels skip them.
Their meshes are made once per worker (a bank of textured primitives, plus mesh files from ``meshes``).
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.core.checks import check
from simgen.core.dist import Dist, const, randint, uniform
from simgen.core.geometry import random_rotation
from simgen.errors import AssetError, ConfigError
from simgen.randomize.families.assets import bank_rng, photo_files, photo_variant, random_colour, textured_variant
from simgen.randomize.family import Family, SampleContext
from simgen.scene.catalog import load_mesh_file, mesh_from_trimesh, primitive_collision, triplanar_uv
from simgen.scene.model import ObjectInstance, Scene
from simgen.scene.sampler import drop_pose
from simgen.scene.shapes import SHAPES, make_shape, random_unit_size
from simgen.scene.spec import SceneSpec
from simgen.scene.textures import PROCEDURAL_TEXTURES, make_print

log = logging.getLogger(__name__)

PRIMITIVE_PREFIX = "__distractor_prim"
MESH_PREFIX = "__distractor_mesh"


@dataclass
class DistractorsConfig:
    """Unlabelled objects that occlude: primitives and (untextured) meshes, in photographs or procedural textures."""

    enabled: bool = False
    count: Dist = randint(1, 3, integer=True, min=0, max=64)
    shapes: list[str] = field(default_factory=lambda: ["box", "cylinder", "sphere", "capsule", "cone", "torus"],
                              metadata=check(names=sorted(SHAPES), nonempty=True))
    # primitives (shape x texture) made once at start
    primitive_bank: int = field(default=8, metadata=check(integer=True, min=0, max=64))
    # mesh files (globs, relative to assets.root or absolute) used as distractors; meshes with their own texture
    # image are skipped when skip_textured (those are usually labelled classes), and so are the scene's own meshes
    meshes: list[str] = field(default_factory=list)
    skip_textured: bool = True
    max_meshes: int = field(default=16, metadata=check(integer=True, min=0, max=64))
    mesh_probability: Dist = const(0.5, min=0.0, max=1.0)  # chance a distractor is a mesh (when any were found)
    # size: multiple of the scene objects' median radius
    size_scale: Dist = uniform(0.5, 1.2, min=1e-6, bounded=True)
    # placement area: multiple of the scene's placement half extents
    area_scale: Dist = uniform(1.0, 1.5, min=0.0)
    bank_seed: int = 0
    # Photographic clutter: a folder of colour photos (e.g. ../shared/textures/surfaces); every distractor (the
    # primitives and the untextured meshes) then wears one, at its real-world size, so real-looking things are
    # background too. null = procedural textures and plain colours.
    texture_dir: Optional[str] = None
    # Printed packaging: this many more primitives (boxes and cans) wearing generated print (lettering in several
    # fonts and inks, colour bands, logos, barcodes), drawn like the other primitives; 0 = none (bytes as before)
    print_bank: int = field(default=0, metadata=check(integer=True, min=0, max=64))

    def check(self, prefix: str) -> None:
        if self.texture_dir not in (None, "") and not Path(self.texture_dir).expanduser().is_dir():
            raise ConfigError(f"{prefix}.texture_dir {self.texture_dir!r} is not a folder; pass an existing folder "
                              f"or leave it null")
        if self.enabled and self.primitive_bank + self.print_bank < 1 and not self.meshes:
            raise ConfigError(f"{prefix}: primitive_bank and print_bank are 0 and no meshes are given; set "
                              f"primitive_bank >= 1 or list mesh files under meshes")


def median_object_radius(spec: SceneSpec, catalog) -> float:
    r = [catalog[k].radius * float(np.mean(o.scale)) for k, o in zip(catalog.object_keys, spec.objects)]
    return float(np.median(r)) if r else 0.05


def _unit_primitive(shape: str, rng: np.random.Generator):
    """A primitive with random proportions, scaled to bounding radius 1."""
    tm = make_shape(shape, random_unit_size(shape, rng))
    tm.apply_translation(-tm.bounds.mean(0))
    tm.apply_scale(1.0 / float(np.linalg.norm(tm.vertices, axis=1).max()))
    return tm


def build_bank(cfg: DistractorsConfig, spec: SceneSpec, catalog, assets_root: Path) -> tuple[list[str], list[str]]:
    """Add distractor meshes to ``catalog``; returns (primitive keys, mesh keys). Radii are 1 for primitives;
    mesh distractors keep their size and are scaled per instance."""

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
        kind = PROCEDURAL_TEXTURES[int(rng.integers(len(PROCEDURAL_TEXTURES)))]
        catalog.meshes[key] = textured_variant(m, key, kind, rng)
        prim_keys.append(key)
    mesh_keys = []
    for path in _mesh_files(cfg, spec, assets_root):
        if len(mesh_keys) >= cfg.max_meshes:
            break

        try:
            tm, uv, tex = load_mesh_file(path, "distractor", 256, catalog.uv_orientation)
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


def build_print_bank(n: int, catalog, bank_seed: int) -> list[str]:
    """Add ``n`` boxes and cylinders wearing generated packaging print to ``catalog``; returns their keys.
    Each face shows the print about once (UVs span the primitive's largest extent)."""
    rng = bank_rng("distractors-print", bank_seed)
    size = min(512, int(catalog.max_texture_size))
    keys = []
    for j in range(n):
        shape = ("box", "cylinder")[j % 2]
        tm = _unit_primitive(shape, rng)  # a fresh mesh: unmerged in place
        tm.unmerge_vertices()  # flat faces: one print per side
        key = f"{PRIMITIVE_PREFIX}print{j}:{shape}__"
        ext = float(np.max(tm.vertices.max(0) - tm.vertices.min(0)))
        m = mesh_from_trimesh(key, tm, texture=None, uv=None, base_color=np.ones(4, np.float32), metallic=0.0,
                              roughness=float(rng.uniform(0.35, 0.8)), source=f"distractor {shape} + print")
        m.collision = primitive_collision(shape, m.vertices)
        uv = triplanar_uv(m.vertices, m.normals, 1.0 / max(ext, 1e-6)) + rng.random(2).astype(np.float32) * 0.2
        catalog.meshes[key] = replace(m, texture=make_print(rng, size), uv=uv.astype(np.float32))
        keys.append(key)
    return keys


def dress_in_photos(catalog, prim_keys: list[str], mesh_keys: list[str], photos: list[Path], r0: float,
                    bank_seed: int) -> None:
    """Give every distractor mesh a photo texture at real-world size. Primitives are unit-radius meshes scaled to
    about ``r0`` metres, meshes to about ``r0`` / their radius: the UVs are in mesh units accordingly."""
    rng = bank_rng("distractors-photo", bank_seed)
    order = rng.permutation(len(photos))
    for j, key in enumerate(prim_keys + mesh_keys):
        m = catalog[key]
        unit = r0 if key in prim_keys else r0 / max(m.radius, 1e-6)  # metres per mesh unit, roughly
        catalog.meshes[key] = photo_variant(m, key, photos[int(order[j % len(order)])], rng, 1.0 / unit,
                                             catalog.max_texture_size, float(rng.uniform(0.4, 0.9)))


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
        T = drop_pose(m, s, R, xy, float(rng.uniform(*P.drop_height)), False, placed)
        objects.append(ObjectInstance(instance_id=next_id, asset_key=key, category=None, scale=s, T_world_obj=T))
        next_id += 1
    scene.params["distractors"] = n
    return scene.with_objects(objects)


class DistractorsFamily(Family):
    name = "distractors"
    stream_id = 6
    order = 20
    Config = DistractorsConfig

    def __init__(self, cfg: DistractorsConfig, spec: SceneSpec) -> None:
        super().__init__(cfg, spec)
        self.prim_keys: list[str] = []
        self.mesh_keys: list[str] = []
        self.photos = photo_files(cfg.texture_dir, [], "randomization.distractors.texture_dir") \
            if cfg.texture_dir else []

    def setup(self, catalog, assets_root) -> None:
        self.prim_keys, self.mesh_keys = build_bank(self.cfg, self.spec, catalog, Path(assets_root))
        if self.photos:
            dress_in_photos(catalog, self.prim_keys, self.mesh_keys, self.photos,
                            median_object_radius(self.spec, catalog), self.cfg.bank_seed)
        if self.cfg.print_bank:  # after the photos: the rest of the bank is as without it
            self.prim_keys += build_print_bank(self.cfg.print_bank, catalog, self.cfg.bank_seed)
        catalog.groups["distractor_meshes"] = list(self.mesh_keys)

    def pool_sizes(self, catalog, pools: dict[str, int]) -> None:
        n = int(self.cfg.count.bounds()[1])
        pools.update((k, n) for k in self.prim_keys + self.mesh_keys)

    def before_physics(self, ctx: SampleContext) -> None:
        ctx.scene = add(ctx.scene, self.cfg, self.spec, ctx.catalog, self.prim_keys, self.mesh_keys, ctx.rng)
