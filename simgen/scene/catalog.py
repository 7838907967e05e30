"""Asset catalog: meshes and textures of a scene, loaded once per worker (trimesh, no engine).

Procedural shapes come from ``trimesh.creation``; mesh files (OBJ/PLY/GLB/STL, with textures) are read relative to
``assets_root`` and may not escape it.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.errors import AssetError, ConfigError
from simgen.scene.shapes import make_shape, primitive_collision
from simgen.scene.spec import ObjectSpec, SceneSpec
from simgen.scene.textures import PROCEDURAL_TEXTURES, make_texture

log = logging.getLogger(__name__)

SURFACE_KEY = "__surface__"
WALL_KEY = "__wall__"


@dataclass
class MeshData:
    """Render- and physics-ready mesh in its own frame (metres, unscaled).

    vertices: (N, 3) float32; faces: (M, 3) int32; normals: (N, 3) float32; uv: (N, 2) float32 or None;
    texture: (H, W, 3) uint8 or None; hull_vertices: (K, 3) float32 convex hull (for physics).
    ``z_offset``: the mesh's lowest z (resting height helper).
    """

    key: str
    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uv: Optional[np.ndarray]
    texture: Optional[np.ndarray]
    base_color: np.ndarray  # (4,) float, 0..1
    metallic: float = 0.0
    roughness: float = 0.7
    hull_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    source: str = ""
    # exact collision primitive for procedural shapes, in the mesh frame: ("box", (ex, ey, ez)), ("sphere", (r,)),
    # ("cylinder", (r, h)) or ("capsule", (r, h)), h along z (capsule: between the cap centres); None: the hull
    collision: Optional[tuple[str, tuple[float, ...]]] = None

    @property
    def extents(self) -> np.ndarray:
        return self.vertices.max(0) - self.vertices.min(0)

    @property
    def radius(self) -> float:
        """Bounding-sphere radius about the origin (metres)."""
        return float(np.linalg.norm(self.vertices, axis=1).max())


def safe_asset_path(root: Path, rel: str) -> Path:
    """Resolve ``rel`` under ``root``; refuse paths that escape it (``../../etc/passwd``) or absolute paths."""
    root = Path(root).resolve()
    p = Path(rel)
    if p.is_absolute():
        raise AssetError(f"asset path {rel!r} is absolute; give it relative to assets.root ({root})")
    full = (root / p).resolve()
    if not full.is_relative_to(root):
        raise AssetError(f"asset path {rel!r} escapes assets.root ({root}); keep assets inside that folder")
    return full


def _stable_rng(*parts: str) -> np.random.Generator:
    """Deterministic generator for content that depends only on names (procedural textures)."""
    return np.random.default_rng(zlib.crc32("/".join(parts).encode()))


def _downscale(img: np.ndarray, max_size: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = max(h, w)
    if s <= max_size:
        return img
    f = max_size / s
    return cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def _load_texture_file(path: Path, max_size: int) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise AssetError(f"texture {path} is missing or not a readable image; fix the file or the path")
    return _downscale(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), max_size)


def triplanar_uv(vertices: np.ndarray, normals: np.ndarray, scale: float) -> np.ndarray:
    """Tri-planar UVs: project each vertex on the axis plane its normal faces most, ``scale`` UV units per
    metre. vertices, normals: (N, 3) -> (N, 2) float32."""
    a = np.abs(normals).argmax(1)
    uv = np.where(a[:, None] == 0, vertices[:, [1, 2]], np.where(a[:, None] == 1, vertices[:, [0, 2]],
                                                                  vertices[:, [0, 1]]))
    return (uv * scale).astype(np.float32)


def _split_for_flat(tm):
    """Unmerge vertices so each face has its own (flat shading + per-face UV projection)."""
    tm = tm.copy()
    tm.unmerge_vertices()
    return tm


def mesh_from_trimesh(key: str, tm, *, texture: Optional[np.ndarray], uv: Optional[np.ndarray],
                      base_color, metallic: float, roughness: float, source: str) -> MeshData:
    import trimesh

    verts = np.asarray(tm.vertices, np.float32)
    faces = np.asarray(tm.faces, np.int32)
    if len(faces) == 0 or len(verts) < 3:
        raise AssetError(f"mesh {source} has no faces; re-export it with geometry")
    if not np.isfinite(verts).all():
        raise AssetError(f"mesh {source} has NaN/inf vertices; repair or re-export it")
    normals = np.asarray(tm.vertex_normals, np.float32)
    # physics always collides with the convex hull (robust for non-watertight meshes, e.g. scans with holes);
    # flat or degenerate geometry gets a thickened bounding box instead
    lo, hi = verts.min(0), verts.max(0)
    hull = None
    if float((hi - lo).min()) > 1e-6:
        try:
            h = trimesh.convex.convex_hull(verts)
            if h.volume > 1e-12:
                hull = h.vertices
        except (RuntimeError, ValueError, IndexError):  # QhullError on degenerate input
            hull = None
    if hull is None:
        hi = np.maximum(hi, lo + 2e-3)
        hull = trimesh.creation.box(bounds=[lo, hi]).vertices
        log.warning("mesh %s is flat or degenerate; physics uses its (thickened) bounding box", source)
    return MeshData(key=key, vertices=verts, faces=faces, normals=normals, uv=uv, texture=texture,
                    base_color=np.array(list(base_color)[:3] + [1.0], np.float32), metallic=metallic,
                    roughness=roughness, hull_vertices=np.asarray(hull, np.float32), source=source)


def _single_mesh(scene):
    """The scene's one mesh as loaded (placed by its node transform), else all its geometry concatenated.

    ``trimesh.load(force="mesh")`` always concatenates, which deep-copies every texture image (PIL pickles it:
    2.5 of the 7 s start-up of the YCB scene); a file with one mesh needs no copy.
    """
    import trimesh

    if not isinstance(scene, trimesh.Scene):
        return scene
    nodes = scene.graph.nodes_geometry
    if len(nodes) == 1:
        T, name = scene.graph[nodes[0]]
        mesh = scene.geometry[name]
        if isinstance(mesh, trimesh.Trimesh) and not np.allclose(T, np.eye(4)):
            mesh.apply_transform(T)
        return mesh
    if not nodes:
        return None
    return scene.to_mesh()


def uv_off_texture(texture: np.ndarray, uv: np.ndarray, faces: np.ndarray) -> float:
    """Fraction of faces whose UV centroid lands on the texture's empty background (pure black texels), for a
    texture with a black background (an atlas); 0 for textures without one. texture: (H, W, 3) uint8; uv: (N, 2)
    (v up, OBJ convention); faces: (M, 3) int."""
    h, w = texture.shape[:2]
    step = max(1, min(h, w) // 256)
    if (texture[::step, ::step].max(-1) == 0).mean() < 0.05:  # no empty background to land on
        return 0.0
    c = np.asarray(uv, np.float64)[np.asarray(faces)].mean(1)
    x = np.clip((c[:, 0] % 1.0) * w, 0, w - 1).astype(np.int64)
    y = np.clip((1.0 - c[:, 1] % 1.0) * h, 0, h - 1).astype(np.int64)
    return float((texture[y, x].max(-1) == 0).mean())


# The eight ways an atlas image can be rotated/mirrored against its UVs, in image coordinates (x right, y down:
# x = u, y = 1 - v): name -> (x, y) -> (x', y') where the texel is really found.
_DIHEDRAL = {
    "as is": lambda x, y: (x, y),
    "mirrored left-right": lambda x, y: (1 - x, y),
    "mirrored top-bottom": lambda x, y: (x, 1 - y),
    "rotated 180 deg": lambda x, y: (1 - x, 1 - y),
    "transposed": lambda x, y: (y, x),
    "rotated 90 deg": lambda x, y: (1 - y, x),
    "rotated 270 deg": lambda x, y: (y, 1 - x),
    "anti-transposed": lambda x, y: (1 - y, 1 - x),
}
UV_ORIENTATIONS = ("auto", "remap", "as_is")


def fill_empty_texels(tex: np.ndarray) -> np.ndarray:
    """The atlas ``tex`` (H, W, 3) uint8 with its empty (pure black) texels filled from the others by pull-push:
    averages down an image pyramid, then back up, each empty texel taking the colour of its surroundings. The
    filled texels are the only ones that change."""
    import cv2

    valid = tex.max(-1) > 0
    if valid.all() or not valid.any():
        return tex
    img = tex.astype(np.float32) * valid[..., None]
    w = valid.astype(np.float32)
    levels = [(img, w)]
    while min(img.shape[:2]) > 1:
        size = (max(1, img.shape[1] // 2), max(1, img.shape[0] // 2))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        w = cv2.resize(w, size, interpolation=cv2.INTER_AREA)
        levels.append((img, w))
    fill = levels[-1][0] / np.maximum(levels[-1][1], 1e-6)[..., None]
    for img, w in reversed(levels[:-1]):
        up = cv2.resize(fill, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(w, 0.0, 1.0)[..., None]
        fill = a * (img / np.maximum(w, 1e-6)[..., None]) + (1.0 - a) * up
    out = tex.copy()
    out[~valid] = np.clip(fill[~valid] + 0.5, 0, 255).astype(np.uint8)
    return out


def orient_uv(texture: np.ndarray, uv: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, str, float, float]:
    """For an atlas texture (black background) whose image is rotated or mirrored against the mesh's UVs (as
    exported by some texture pipelines: the faces then sample the empty background and render as black patches):
    the UVs remapped to the one of the eight orientations that puts the fewest faces on the background.

    Returns (uv, orientation name, fraction of faces off the texture before, after). The UVs change only when
    more than 5% of the faces land on the background, the UVs lie in [0, 1] (an atlas, not a tiling), and another
    orientation leaves under 8% and under a third of the original: a clear fit, never a guess."""
    before = uv_off_texture(texture, uv, faces)
    u = np.asarray(uv, np.float64)
    if before <= 0.05 or u.min() < -1e-6 or u.max() > 1 + 1e-6:
        return uv, "as is", before, before
    x, y = u[:, 0], 1.0 - u[:, 1]
    best = ("as is", before, uv)
    for name, f in _DIHEDRAL.items():
        if name == "as is":
            continue
        nx, ny = f(x, y)
        cand = np.stack([nx, 1.0 - ny], 1).astype(np.float32)
        off = uv_off_texture(texture, cand, faces)
        if off < best[1]:
            best = (name, off, cand)
    name, after, cand = best
    if after < 0.08 and after < before / 3:
        return cand, name, before, after
    return uv, "as is", before, before


def load_mesh_file(path: Path, key: str, max_texture_size: int, uv_orientation: str = "auto"):
    """Load a mesh file with trimesh -> (Trimesh, uv or None, texture or None). ``uv_orientation``: "auto"
    repairs an atlas image that is rotated/mirrored against the UVs (:func:`orient_uv`) and, where no
    orientation fits, fills the atlas's empty background (:func:`fill_empty_texels`); "remap" only the first;
    "as_is" neither. Each repair is logged as a warning."""
    import trimesh

    if not path.is_file():
        raise AssetError(f"mesh file {path} not found; check the scene's mesh path and assets.root")
    if path.stat().st_size == 0:
        raise AssetError(f"mesh file {path} is empty; re-export the mesh")
    try:
        loaded = _single_mesh(trimesh.load(str(path), force="scene", process=False, skip_materials=False))
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise AssetError(f"mesh file {path} could not be read ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:120] if str(exc) else 'corrupt'}); re-export it as OBJ/PLY/GLB"
                         ) from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise AssetError(f"mesh file {path} holds no triangles; re-export it with geometry")
    uv, tex = None, None
    vis = loaded.visual
    if isinstance(vis, trimesh.visual.TextureVisuals) and vis.uv is not None and len(vis.uv) == len(loaded.vertices):
        mat = vis.material
        img = getattr(mat, "image", None)
        if img is None:
            img = getattr(mat, "baseColorTexture", None)
        if img is not None:
            full = np.asarray(img.convert("RGB"))
            uv = np.asarray(vis.uv, np.float32)
            if uv_orientation in ("auto", "remap"):
                uv, how, off, fixed = orient_uv(full, uv, np.asarray(loaded.faces))
            else:
                how, off = "as is", uv_off_texture(full, uv, np.asarray(loaded.faces))
                fixed = off
            if how != "as is":
                log.warning("mesh %s: its texture image is %s against its UVs (%.0f%% of the faces sampled the "
                            "empty background, now %.0f%%): rendering it with the UVs remapped "
                            "(assets.uv_orientation=as_is keeps the file's UVs)", path, how, 100 * off, 100 * fixed)
            tex = _downscale(full, max_texture_size)
            if fixed > 0.05 and uv_orientation == "auto":
                tex = fill_empty_texels(tex)
                log.warning("mesh %s: %.0f%% of its faces sample the texture's empty (black) background in the "
                            "best-fitting rotation/mirror of the image: the background is filled with the "
                            "neighbouring colours so they render as smudges, not black patches "
                            "(assets.uv_orientation=remap|as_is: leave it black); the file needs a texture that "
                            "matches its UVs", path, 100 * fixed)
            elif fixed > 0.05:
                log.warning("mesh %s: %.0f%% of its faces sample the texture's empty (black) background; its "
                            "texture image probably does not match its UVs (renders show black patches): check "
                            "the file", path, 100 * fixed)
        else:
            log.warning("mesh %s has UVs but its texture image is missing; rendering it untextured", path)
    return loaded, uv, tex


class AssetCatalog:
    """All meshes of one scene, keyed by asset key. Built once per worker with :meth:`from_spec`."""

    def __init__(self, meshes: dict[str, MeshData], object_keys: list[str]):
        self.meshes = meshes
        self.object_keys = object_keys  # asset key of scene.objects[i]
        # named sets of keys that randomization families add and other families use (e.g. "distractor_meshes")
        self.groups: dict[str, list[str]] = {}
        # largest texture side the renderer takes (textures that families add are downscaled to it)
        self.max_texture_size = 1024
        # assets.uv_orientation, for the meshes that families load (distractors)
        self.uv_orientation = "auto"

    def __getitem__(self, key: str) -> MeshData:
        return self.meshes[key]

    def __contains__(self, key: str) -> bool:
        return key in self.meshes

    @classmethod
    def from_spec(cls, spec: SceneSpec, assets_root: Path, max_texture_size: int = 1024,
                  uv_orientation: str = "auto") -> "AssetCatalog":
        meshes: dict[str, MeshData] = {}
        keys: list[str] = []
        for i, o in enumerate(spec.objects):
            key = f"obj{i}:{o.category}"
            meshes[key] = load_object(o, key, Path(assets_root), max_texture_size, uv_orientation)
            keys.append(key)
        meshes[SURFACE_KEY] = make_surface(spec)
        if spec.background.walls:
            meshes[WALL_KEY] = make_wall(spec)
        cat = cls(meshes, keys)
        cat.max_texture_size = int(max_texture_size)
        cat.uv_orientation = uv_orientation
        return cat


def check_assets(spec: SceneSpec, assets_root: Path) -> None:
    """Up-front checks before any output is written. Raises AssetError/ConfigError naming the problem and the fix.

    Every mesh/texture file lies inside ``assets_root``, exists, is non-empty and readable; every mesh parses into
    triangles with finite vertices; no labelled object is larger than the camera's view at every allowed distance.
    """
    root = Path(assets_root)
    view = _view_size_at(spec, spec.camera.distance[1])
    for i, o in enumerate(spec.objects):
        files = [o.mesh] if o.mesh else []
        if o.texture and o.texture not in PROCEDURAL_TEXTURES:
            files.append(o.texture)
        for rel in files:
            p = safe_asset_path(root, rel)
            if not p.is_file():
                raise AssetError(f"{'mesh' if rel == o.mesh else 'texture'} file {p} not found (object "
                                 f"{o.category!r}); check the scene's path and assets.root={root}")
            if p.stat().st_size == 0:
                raise AssetError(f"file {p} is empty (object {o.category!r}); re-export it")
            if not os.access(p, os.R_OK):
                raise AssetError(f"file {p} is not readable (object {o.category!r}); fix its permissions")
        if o.mesh:
            extents = _mesh_extents(safe_asset_path(root, o.mesh))
        else:
            extents = np.asarray(make_shape(o.shape, list(o.size)).extents)  # type: ignore[arg-type]
        smallest = float(np.sort(extents)[0]) * o.scale[0]
        if o.labelled and smallest > max(view):
            raise ConfigError(f"object {o.category!r} (objects[{i}], at least {smallest:.3f} m across) is larger than "
                              f"the camera's view ({view[0]:.3f} x {view[1]:.3f} m) even at the largest "
                              f"camera.distance {spec.camera.distance[1]} m; scale it down (scale:) or move the "
                              f"camera back")


def _view_size_at(spec: SceneSpec, distance: float) -> tuple[float, float]:
    c = spec.camera
    return (distance * c.width / c.fx, distance * c.height / c.fy)


def _mesh_extents(path: Path) -> np.ndarray:
    """Parse a mesh's geometry only (no textures) and check it; returns its (3,) extents."""
    import trimesh

    try:
        tm = trimesh.load(str(path), force="mesh", process=False, skip_materials=True)
    except Exception as exc:
        raise AssetError(f"mesh file {path} could not be read ({type(exc).__name__}); re-export it as OBJ/PLY/GLB"
                         ) from None
    if not isinstance(tm, trimesh.Trimesh) or len(tm.faces) == 0:
        raise AssetError(f"mesh file {path} holds no triangles; re-export it with geometry")
    v = np.asarray(tm.vertices)
    if not np.isfinite(v).all():
        raise AssetError(f"mesh {path} has NaN/inf vertices; repair or re-export it")
    return np.asarray(tm.extents, np.float64)


def _texture_for(o: ObjectSpec, key: str, assets_root: Path, max_texture_size: int) -> Optional[np.ndarray]:
    if o.texture is None:
        return None
    if o.texture in PROCEDURAL_TEXTURES:
        return make_texture(o.texture, _stable_rng("texture", key, o.texture), np.asarray(o.color), 256)
    return _load_texture_file(safe_asset_path(assets_root, o.texture), max_texture_size)


def load_object(o: ObjectSpec, key: str, assets_root: Path, max_texture_size: int = 1024,
                uv_orientation: str = "auto") -> MeshData:
    """ObjectSpec -> MeshData (procedural shape or mesh file)."""
    if o.shape is not None:
        tm = make_shape(o.shape, list(o.size))
        source = f"{o.shape}{list(o.size)}"
        tex = _texture_for(o, key, assets_root, max_texture_size)
        uv = None
        if tex is not None:
            tm = _split_for_flat(tm) if o.shape == "box" else tm
            uv = triplanar_uv(np.asarray(tm.vertices), np.asarray(tm.vertex_normals), 1.0 / max(o.size))
        color = o.color if tex is None else [1.0, 1.0, 1.0]
        m = mesh_from_trimesh(key, tm, texture=tex, uv=uv, base_color=color, metallic=o.metallic,
                              roughness=o.roughness, source=source)
        m.collision = primitive_collision(o.shape, m.vertices)
        return m
    path = safe_asset_path(assets_root, o.mesh)  # type: ignore[arg-type]
    tm, uv, tex = load_mesh_file(path, key, max_texture_size, uv_orientation)
    if o.texture is not None:  # explicit texture overrides the file's own
        tex = _texture_for(o, key, assets_root, max_texture_size)
        if uv is None:
            uv = triplanar_uv(np.asarray(tm.vertices), np.asarray(tm.vertex_normals), 1.0 / max(float(tm.extents.max()), 1e-6))
    ext = float(np.max(tm.extents))
    if ext > 5.0:
        log.warning("mesh %s is %.1f units across: if it is in millimetres, convert it to metres "
                    "(or set scale: [0.001, 0.001])", path, ext)
    color = [1.0, 1.0, 1.0] if tex is not None else o.color
    return mesh_from_trimesh(key, tm, texture=tex, uv=uv, base_color=color, metallic=o.metallic,
                             roughness=o.roughness, source=str(path))


def make_surface(spec: SceneSpec) -> MeshData:
    """Support slab, top face at z = 0, tiled procedural texture."""
    import trimesh

    s = spec.surface
    tm = _split_for_flat(trimesh.creation.box(extents=[s.size[0], s.size[1], 0.02]))
    tm.apply_translation([0, 0, -0.01])
    tex = make_texture(s.texture or "plain", _stable_rng("surface", s.texture or "plain"), np.asarray(s.color), 512)
    uv = triplanar_uv(np.asarray(tm.vertices), np.asarray(tm.vertex_normals), s.texture_scale / max(s.size))
    return mesh_from_trimesh(SURFACE_KEY, tm, texture=tex, uv=uv, base_color=[1, 1, 1], metallic=0.0,
                             roughness=0.8, source="surface")


def make_wall(spec: SceneSpec) -> MeshData:
    """A thin vertical wall (one instance per side is placed by the sampler)."""
    import trimesh

    b = spec.background
    width = 2.0 * b.wall_distance
    tm = _split_for_flat(trimesh.creation.box(extents=[width, 0.02, b.wall_height]))
    tm.apply_translation([0, 0, b.wall_height / 2])
    tex = make_texture(b.wall_texture or "plain", _stable_rng("wall", b.wall_texture or "plain"),
                       np.asarray(b.wall_color), 512)
    uv = triplanar_uv(np.asarray(tm.vertices), np.asarray(tm.vertex_normals), 2.0 / width)
    return mesh_from_trimesh(WALL_KEY, tm, texture=tex, uv=uv, base_color=[1, 1, 1], metallic=0.0,
                             roughness=0.9, source="wall")
