"""A folder of meshes -> a scene dict (what ``simgen new-scene`` writes as YAML).

Pure logic plus reading the meshes; no engine, no randomness (same folder and options = byte-identical YAML).

Folders understood:

* **BOP model sets**: a ``models_info.json`` (``{"1": {"diameter": .., "min_x": .., "size_x": .., ...}}``) beside
  ``obj_000001.ply`` ...; BOP models are in millimetres. Categories are ``obj_000001`` ..., or the names of an
  optional ``models_names.json`` (``{"1": "ape", ...}``, ``{"obj_000001": "ape"}`` or a list in id order).
* **Any other folder**: every OBJ/PLY/GLB/GLTF/STL below it (hidden folders skipped). The category is the file
  name, or the nearest meaningful folder name when the file name is generic (YCB:
  ``models/003_cracker_box/textured_simple.obj`` -> ``003_cracker_box``). Several files of one object in one
  folder (``textured.obj`` + ``textured_simple.obj``, ``bolt.obj`` + ``bolt.stl``) give one entry (the lightest
  textured one).

Derived values (metres): the unit scale (millimetres detected from the objects' sizes, or given); the camera
distance range so the largest object spans :data:`FRAME_FRACTION` of the image's narrower field of view; the drop
area from the objects' footprints and counts; a surface that fills the view; masses as physics computes them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from simgen.errors import AssetError, ConfigError
from simgen.scene.spec import DENSITY, MIN_MASS, CameraSpec, scene_from_dict

log = logging.getLogger(__name__)

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".stl")
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}
UNIT_NAMES = {"m": "metres", "cm": "centimetres", "mm": "millimetres", "in": "inches"}
# bounds on the input
MAX_MESHES = 256
MAX_MESH_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 8
MAX_JSON_BYTES = 4 * 1024 * 1024
# auto units: a tabletop object in metres is at most this many units across (median of the objects' largest
# extents); larger -> millimetres (CAD, STL for 3D printing and BOP use millimetres)
METRES_MAX_EXTENT = 2.0
# the largest object spans this fraction of the image (narrower field of view) at the [nearest, farthest] camera
FRAME_FRACTION = (0.6, 0.25)
# drop area: objects' footprints (largest extent squared x expected count) cover this fraction of it
PLACEMENT_COVERAGE = 0.3
PLACEMENT_VIEW = 0.8

# file stems and folder names that say nothing about the object
GENERIC_STEMS = {"textured_simple", "textured", "nontextured", "model", "mesh", "scene", "object", "untitled",
                 "poisson", "tsdf", "merged_cloud", "model_normalized"}
GENERIC_DIRS = {"google_16k", "google_64k", "google_512k", "tsdf", "poisson", "meshes", "mesh", "models", "model",
                "models_cad", "models_eval", "models_reconst", "textured", "obj", "ply", "stl", "glb", "gltf", "cad",
                "scans", "scan", "assets"}
# one object, several files: prefer the lighter textured mesh, then formats that carry textures
_STEM_RANK = {"textured_simple": 0, "textured": 1, "nontextured": 3}
_SUFFIX_RANK = {".glb": 0, ".gltf": 0, ".obj": 0, ".ply": 1, ".stl": 2}
_DIR_RANK = {"google_16k": 0}


@dataclass
class MeshInfo:
    """One mesh file as measured (file units, i.e. before the unit scale).

    extents: (3,) float64 bounding-box size; centre: (3,) float64 bounding-box centre; hull_volume: convex hull
    volume (units^3).
    """

    path: Path
    rel: str  # posix path relative to the assets root
    category: str
    extents: np.ndarray
    centre: np.ndarray
    hull_volume: float
    n_faces: int


@dataclass
class NewScene:
    """The result: ``scene`` (a dict that validates with ``scene_from_dict``), the notes to show the user, and
    per-object comment lines for the YAML (``object_comments[i]`` describes ``scene["objects"][i]``)."""

    scene: dict[str, Any]
    assets_root: Path
    kind: str  # "bop" or "folder"
    unit: str  # key of UNITS
    notes: list[str] = field(default_factory=list)
    object_comments: list[str] = field(default_factory=list)
    meshes: list[MeshInfo] = field(default_factory=list)


# ---------------------------------------------------------------------- discovery

def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise AssetError(f"{path} is larger than {MAX_JSON_BYTES // 2**20} MiB; it cannot be a BOP models file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssetError(f"{path} is not valid JSON ({str(exc).splitlines()[0][:80]}); fix or remove it") from None


def _bop_names(root: Path) -> dict[int, str]:
    """Object names of an optional ``models_names.json``: ``{id: name}``."""
    p = root / "models_names.json"
    if not p.is_file():
        return {}
    raw = _read_json(p)
    out: dict[int, str] = {}
    if isinstance(raw, list):
        out = {i + 1: str(n) for i, n in enumerate(raw)}
    elif isinstance(raw, dict):
        for k, v in raw.items():
            digits = "".join(ch for ch in str(k) if ch.isdigit())
            if digits:
                out[int(digits)] = str(v)
    else:
        raise AssetError(f"{p} must map object ids to names ({{\"1\": \"ape\"}}) or list the names in id order")
    return {k: v.strip() for k, v in out.items() if v.strip()}


def discover_bop(root: Path) -> tuple[list[tuple[Path, str]], dict[int, dict]]:
    """BOP model folder -> ([(mesh path, category)], models_info by id). Raises AssetError on a broken set."""
    info_raw = _read_json(root / "models_info.json")
    if not isinstance(info_raw, dict) or not info_raw:
        raise AssetError(f"{root / 'models_info.json'} holds no models ({{\"1\": {{\"diameter\": ...}}}}); "
                         f"fix it or remove it to read the folder as plain meshes")
    info: dict[int, dict] = {}
    for k, v in info_raw.items():
        try:
            info[int(k)] = v if isinstance(v, dict) else {}
        except ValueError:
            raise AssetError(f"{root / 'models_info.json'} has a non-numeric object id {k!r}; BOP ids are "
                             f"integers") from None
    if len(info) > MAX_MESHES:
        raise AssetError(f"{root} lists {len(info)} models (limit {MAX_MESHES}); split the folder")
    names = _bop_names(root)
    out = []
    for oid in sorted(info):
        path = None
        for cand in (f"obj_{oid:06d}", f"obj_{oid:02d}", f"obj_{oid}"):
            for suf in MESH_SUFFIXES:
                if (root / f"{cand}{suf}").is_file():
                    path = root / f"{cand}{suf}"
                    break
            if path is not None:
                break
        if path is None:
            raise AssetError(f"{root / 'models_info.json'} lists object {oid} but {root} has no obj_{oid:06d}.ply; "
                             f"add the model or remove its entry")
        out.append((path, names.get(oid, path.stem)))
    return out, info


def find_mesh_files(root: Path) -> list[Path]:
    """Mesh files under ``root`` (sorted, hidden entries skipped, at most :data:`MAX_DEPTH` folders deep)."""
    found: list[Path] = []
    root_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and n != "__pycache__")
        if len(d.parts) - root_depth >= MAX_DEPTH:
            dirnames[:] = []
        for n in sorted(filenames):
            if not n.startswith(".") and n.lower().endswith(MESH_SUFFIXES):
                found.append(d / n)
                if len(found) > 4 * MAX_MESHES:
                    raise AssetError(f"{root} holds more than {4 * MAX_MESHES} mesh files; point new-scene at a "
                                     f"folder of at most {MAX_MESHES} objects")
    return sorted(found)


def _category_and_owner(root: Path, path: Path) -> tuple[str, Path]:
    """Category name of a mesh file and the folder it names (files of one object share it)."""
    stem = path.stem
    if stem.lower() not in GENERIC_STEMS:
        return stem, path.parent
    d = path.parent
    while d != root and root in d.parents:
        if d.name.lower() not in GENERIC_DIRS:
            return d.name, d
        d = d.parent
    return stem, path.parent


def _rank(path: Path) -> tuple:
    return (_STEM_RANK.get(path.stem.lower(), 2), _SUFFIX_RANK.get(path.suffix.lower(), 3),
            _DIR_RANK.get(path.parent.name.lower(), 1), len(path.parts), str(path))


def discover_folder(root: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """Plain folder -> ([(mesh path, category)], notes). One entry per object; unique categories."""
    files = find_mesh_files(root)
    groups: dict[tuple[Path, str], list[Path]] = {}
    for f in files:
        cat, owner = _category_and_owner(root, f)
        groups.setdefault((owner, cat), []).append(f)
    notes = []
    chosen: list[tuple[Path, str, Path]] = []
    for (owner, cat), fs in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        fs = sorted(fs, key=_rank)
        if len(fs) > 1:
            notes.append(f"{cat}: using {fs[0].relative_to(root).as_posix()}, skipping "
                         f"{', '.join(p.relative_to(root).as_posix() for p in fs[1:])} (same object)")
        chosen.append((fs[0], cat, owner))
    counts: dict[str, int] = {}
    for _, cat, _ in chosen:
        counts[cat] = counts.get(cat, 0) + 1
    out = []
    for f, cat, owner in chosen:
        if counts[cat] > 1:  # same name in different folders: the relative path tells them apart
            rel = f.relative_to(root).with_suffix("") if owner == f.parent else owner.relative_to(root)
            cat = rel.as_posix().replace("/", "_")
        out.append((f, cat))
    seen: set[str] = set()
    for f, cat in out:
        if cat in seen:
            raise AssetError(f"two meshes under {root} are both named {cat!r}; rename one of them")
        seen.add(cat)
    if len(out) > MAX_MESHES:
        raise AssetError(f"{root} holds {len(out)} objects (limit {MAX_MESHES}); point new-scene at a smaller folder")
    return sorted(out, key=lambda fc: fc[1]), notes


# ---------------------------------------------------------------------- measuring

def _hull_volume(v: np.ndarray) -> float:
    """Convex hull volume of points (N, 3) float64; a bounding-box volume for flat/degenerate sets."""
    try:
        from scipy.spatial import ConvexHull

        return float(ConvexHull(v).volume)
    except Exception:  # qhull rejects flat or degenerate point sets
        return float(np.prod(np.maximum(v.max(0) - v.min(0), 1e-9)))


def measure_mesh(path: Path, root: Path, category: str) -> MeshInfo:
    """Parse a mesh's geometry (no textures) -> MeshInfo. Raises AssetError naming the file and the fix."""
    import trimesh

    rel = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size == 0:
        raise AssetError(f"mesh file {rel} is empty; re-export it or remove it from {root}")
    if size > MAX_MESH_BYTES:
        raise AssetError(f"mesh file {rel} is {size / 2**20:.0f} MiB (limit {MAX_MESH_BYTES // 2**20} MiB); "
                         f"decimate it or remove it from {root}")
    try:
        tm = trimesh.load(str(path), force="mesh", process=False, skip_materials=True)
    except Exception as exc:  # trimesh raises many types on corrupt files
        msg = str(exc).splitlines()[0][:100] if str(exc) else "corrupt"
        raise AssetError(f"mesh file {rel} could not be read ({type(exc).__name__}: {msg}); re-export it "
                         f"(OBJ/PLY/GLB/STL) or remove it from {root}") from None
    if not isinstance(tm, trimesh.Trimesh) or len(tm.faces) == 0:
        raise AssetError(f"mesh file {rel} holds no triangles; re-export it with geometry or remove it from {root}")
    v = np.asarray(tm.vertices, np.float64)
    if not np.isfinite(v).all():
        raise AssetError(f"mesh file {rel} has NaN/inf vertices; repair it or remove it from {root}")
    lo, hi = v.min(0), v.max(0)
    if float((hi - lo).max()) <= 0:
        raise AssetError(f"mesh file {rel} has zero size; re-export it or remove it from {root}")
    return MeshInfo(path=path, rel=rel, category=category, extents=hi - lo, centre=(hi + lo) / 2,
                    hull_volume=_hull_volume(v), n_faces=int(len(tm.faces)))


def detect_units(largest: list[float]) -> str:
    """Units of a set of tabletop objects from their largest extents (file units): "m" or "mm"."""
    return "m" if float(np.median(largest)) <= METRES_MAX_EXTENT else "mm"


# ---------------------------------------------------------------------- deriving the scene

def _r(x: float, sig: int = 3) -> float:
    """Round to ``sig`` significant digits (readable YAML, stable across platforms)."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{sig}g}")


def body_mass(hull_volume_m3: float) -> float:
    """Mass (kg) physics gives a body of this convex hull volume (m^3)."""
    return max(MIN_MASS, DENSITY * hull_volume_m3)


def counts_for(n_objects: int) -> list[int]:
    """Per-object count range: a few copies of one or two kinds, else each kind present or not."""
    if n_objects == 1:
        return [1, 3]
    if n_objects <= 3:
        return [1, 2]
    return [0, 1]


def camera_distances(largest_m: float, fx: float, fy: float, width: int, height: int) -> tuple[float, float]:
    """Camera distance range (m) at which an object ``largest_m`` across spans FRAME_FRACTION of the narrower
    field of view (``width / fx`` or ``height / fy``, both in metres per metre of distance)."""
    k = min(width / fx, height / fy)
    return largest_m / (FRAME_FRACTION[0] * k), largest_m / (FRAME_FRACTION[1] * k)


def build_scene(root: Path, *, units: str = "auto", name: Optional[str] = None, fx: Optional[float] = None,
                fy: Optional[float] = None, width: Optional[int] = None, height: Optional[int] = None) -> NewScene:
    """Read the mesh folder ``root`` and derive a scene dict. Raises AssetError/ConfigError (one line + fix).

    ``units``: "auto" or a key of :data:`UNITS`; camera intrinsics default to the scene schema's (principal point
    at the image centre).
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise AssetError(f"mesh folder {root} does not exist or is not a folder; pass the folder holding the meshes")
    if units != "auto" and units not in UNITS:
        raise ConfigError(f"units={units!r} is not one of auto, {', '.join(UNITS)}; pick one")
    notes: list[str] = []
    bop_info: dict[int, dict] = {}
    if (root / "models_info.json").is_file():
        kind = "bop"
        entries, bop_info = discover_bop(root)
        if not (root / "models_names.json").is_file():
            notes.append("BOP set without models_names.json: categories are the file names (obj_000001, ...); "
                         "add models_names.json ({\"1\": \"ape\", ...}) to name them")
    else:
        kind = "folder"
        entries, more = discover_folder(root)
        notes += more
    if not entries:
        raise AssetError(f"no meshes ({', '.join(s[1:].upper() for s in MESH_SUFFIXES)}) found under {root}; "
                         f"point new-scene at the folder holding them")
    meshes = [measure_mesh(p, root, cat) for p, cat in entries]
    largest = [float(m.extents.max()) for m in meshes]

    unit = _units(kind, units, meshes, largest, bop_info, notes)
    u = UNITS[unit]

    cam0 = CameraSpec()
    fy = float(fy if fy is not None else (fx if fx is not None else cam0.fy))  # square pixels unless given
    fx = float(fx if fx is not None else cam0.fx)
    width = int(width if width is not None else cam0.width)
    height = int(height if height is not None else cam0.height)
    if fx <= 0 or fy <= 0 or not 16 <= width <= 8192 or not 16 <= height <= 8192:
        raise ConfigError(f"camera fx={fx}, fy={fy}, width={width}, height={height}: focal lengths must be > 0 and "
                          f"the image 16..8192 pixels per side")
    sizes_m = np.array([m.extents * u for m in meshes])  # (N, 3)
    largest_m = sizes_m.max(1)
    i_big = int(np.argmax(largest_m))
    d_near, d_far = camera_distances(float(largest_m[i_big]), fx, fy, width, height)
    d_near, d_far = _r(d_near), _r(d_far)
    count = counts_for(len(meshes))
    expected = (count[0] + count[1]) / 2.0
    med_largest = float(np.median(largest_m))
    half = 0.5 * math.sqrt(float((largest_m ** 2).sum()) * expected / PLACEMENT_COVERAGE)
    # the drop square spans at most PLACEMENT_VIEW of the narrower view at the mid distance
    view_mid = 0.5 * (d_near + d_far) * min(width / fx, height / fy)
    half = _r(min(max(half, 0.75 * float(largest_m.max())), 0.5 * PLACEMENT_VIEW * view_mid))
    side = _r(max(2.0 * (half + d_far), 0.3), 2)
    k_fov = min(width / fx, height / fy)
    notes.append(f"camera distance [{d_near:g}, {d_far:g}] m: the largest object ({meshes[i_big].category}, "
                 f"{largest_m[i_big]:.3g} m) spans {FRAME_FRACTION[0]:.0%}..{FRAME_FRACTION[1]:.0%} of the "
                 f"{'width' if width / fx <= height / fy else 'height'} at fx={fx:g}, fy={fy:g}, {width}x{height} "
                 f"(view {d_near * k_fov:.3g}..{d_far * k_fov:.3g} m)")
    notes.append(f"drop area +-{half:g} m for {len(meshes)} object kinds x count {count}; surface {side:g} m square")

    objects = []
    comments = []
    for m, size in zip(meshes, sizes_m):
        mass = body_mass(m.hull_volume * u ** 3)
        objects.append({"category": m.category, "mesh": m.rel, "count": list(count), "scale": [u, u],
                        "mass": _r(mass)})
        comments.append(f"{m.rel}: {' x '.join(f'{s:.4g}' for s in m.extents)} {unit} -> "
                        f"{' x '.join(f'{s:.3g}' for s in size)} m, {m.n_faces} faces")
    cx, cy = width / 2.0, height / 2.0
    scene = {
        "name": name or _scene_name(root),
        "description": f"{len(meshes)} objects from {root.name}/ (written by simgen new-scene)",
        "objects": objects,
        "surface": {"size": [side, side], "texture": "wood", "color": [0.55, 0.42, 0.3],
                    "texture_scale": _r(min(max(side / (4.0 * med_largest), 1.0), 30.0), 2)},
        "background": {"color": [0.25, 0.25, 0.28]},
        "camera": {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height,
                   "znear": _r(min(0.05, 0.25 * d_near)), "zfar": _r(1.5 * (d_far + side)),
                   "distance": [d_near, d_far], "elevation_deg": [35.0, 75.0], "azimuth_deg": [0.0, 360.0],
                   "look_at": [0.0, 0.0, _r(0.5 * float(np.median(sizes_m.min(1))))],
                   "look_at_jitter": _r(0.3 * half)},
        "placement": {"half_extent": [half, half],
                      "drop_height": [_r(0.2 * med_largest), _r(1.5 * med_largest)],
                      "upright_probability": 0.5},
    }
    scene_from_dict(scene, source=f"new-scene {root}")  # the scene must load as written
    return NewScene(scene=scene, assets_root=root, kind=kind, unit=unit, notes=notes, object_comments=comments,
                    meshes=meshes)


def _units(kind: str, units: str, meshes: list, largest: list[float], bop_info: dict, notes: list[str]) -> str:
    """The meshes' unit (given, BOP's millimetres, or detected from their sizes), with notes on what was decided
    and on objects whose size or origin looks wrong in it."""
    if units != "auto":
        unit = units
        notes.append(f"units: {UNIT_NAMES[unit]} (given); every object has scale {UNITS[unit]:g}")
    elif kind == "bop":
        unit = "mm"
        notes.append("units: millimetres (BOP models are in mm); every object has scale: [0.001, 0.001]")
        for m, oid in zip(meshes, sorted(bop_info)):
            sz = [bop_info[oid].get(f"size_{a}") for a in "xyz"]
            if all(isinstance(s, (int, float)) for s in sz) and not np.allclose(m.extents, sz, rtol=0.02, atol=0.5):
                notes.append(f"{m.rel}: extents {np.round(m.extents, 1).tolist()} differ from models_info.json's "
                             f"size {sz}; check the model and models_info.json")
    else:
        unit = detect_units(largest)
        med = float(np.median(largest))
        if unit == "mm":
            notes.append(f"units: millimetres detected (objects are {med:.4g} units across, median; an object in "
                         f"metres would be <= {METRES_MAX_EXTENT:g}): every object has scale: [0.001, 0.001]; "
                         f"pass units=m|cm|in if that is wrong")
        else:
            notes.append(f"units: metres detected (objects are {med:.4g} units across, median); pass "
                         f"units=mm|cm|in if that is wrong")
    u = UNITS[unit]
    for m in meshes:
        size_m = float(m.extents.max()) * u
        if not 0.002 <= size_m <= 2.0:
            notes.append(f"{m.rel} is {size_m:.4g} m across in {UNIT_NAMES[unit]}: unusual for a tabletop object; "
                         f"check its units")
        if float(np.abs(m.centre).max()) > 0.5 * float(m.extents.max()):
            notes.append(f"{m.rel}: its origin lies outside the object (bounding-box centre at "
                         f"{np.round(m.centre * u, 3).tolist()} m); it is dropped and turned about the origin, "
                         f"recentre it for natural poses")
    return unit


def _scene_name(root: Path) -> str:
    name = root.name
    if name.lower() in GENERIC_DIRS and root.parent.name:
        name = f"{root.parent.name}_{name}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "scene"


# ---------------------------------------------------------------------- YAML text

def scene_yaml(ns: NewScene, scene_path: Optional[Path] = None) -> str:
    """The scene file's text: a header (assets root, render command, notes), one line per object with its
    measurements above it, then the other sections. Loads back to ``ns.scene``."""
    import yaml

    def flow(d: Any) -> str:
        return yaml.safe_dump(d, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True).strip()

    target = scene_path.as_posix() if scene_path is not None else "<this file>"
    lines = [f"# Written by `simgen new-scene` from the {'BOP model set' if ns.kind == 'bop' else 'mesh folder'} "
             f"{ns.assets_root.as_posix()}",
             "# Mesh paths are relative to assets.root, which must be that folder:",
             f"#   assets.root: {ns.assets_root.as_posix()}",
             f"#   simgen render scene={target} assets.root={ns.assets_root.as_posix()}",
             "# Lengths in metres, angles in degrees. Edit freely: counts, camera, surface, placement.",
             f"# Masses: {DENSITY:g} kg/m^3 x the mesh's convex hull volume, as physics derives them.",
             "#"]
    lines += [f"# {n}" for n in ns.notes]
    head = {k: ns.scene[k] for k in ("name", "description")}
    lines.append(yaml.safe_dump(head, sort_keys=False, width=10_000, allow_unicode=True).rstrip())
    lines.append("objects:")
    for o, c in zip(ns.scene["objects"], ns.object_comments):
        lines.append(f"  # {c}")
        lines.append(f"  - {flow(o)}")
    rest = {k: v for k, v in ns.scene.items() if k not in ("name", "description", "objects")}
    lines.append(yaml.safe_dump(rest, default_flow_style=None, sort_keys=False, width=10_000).rstrip())
    return "\n".join(lines) + "\n"
