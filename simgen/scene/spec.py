"""Scene descriptions (``scenes/<name>.yaml``): what a user edits.

A scene file is data: it is read with ``yaml.safe_load``, validated against these dataclasses (unknown keys and wrong
types are errors), and never instantiates or executes anything.

Conventions: lengths in metres, angles in the file in degrees (names end in ``_deg``), colours RGB in 0..1,
ranges as ``[min, max]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from simgen.errors import ConfigError
from simgen.scene.shapes import SHAPE_SIZES, SHAPES


@dataclass
class ObjectSpec:
    """One kind of object. Either ``mesh`` (file relative to ``assets.root``) or ``shape`` (procedural)."""

    category: str = "???"
    mesh: Optional[str] = None
    # box: [x, y, z] extents; cylinder/capsule/cone: [radius, height]; sphere: [radius]; torus: [R, r]
    shape: Optional[str] = None
    size: list[float] = field(default_factory=list)
    # procedural texture name (checker, stripes, noise, gradient, wood, plain) or image file under assets.root;
    # meshes with their own texture (OBJ+MTL, GLB) keep it when this is null
    texture: Optional[str] = None
    color: list[float] = field(default_factory=lambda: [0.7, 0.7, 0.7])
    count: list[int] = field(default_factory=lambda: [1, 1])
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0])
    mass: float = 0.2
    metallic: float = 0.0
    roughness: float = 0.7
    # false: an unlabelled distractor (occludes, never exported)
    labelled: bool = True


@dataclass
class SurfaceSpec:
    """Support surface the objects settle on: a textured slab whose top is at z = 0."""

    size: list[float] = field(default_factory=lambda: [1.2, 1.2])
    texture: Optional[str] = "wood"
    color: list[float] = field(default_factory=lambda: [0.55, 0.42, 0.3])
    texture_scale: float = 4.0


@dataclass
class BackgroundSpec:
    color: list[float] = field(default_factory=lambda: [0.25, 0.25, 0.28])
    # vertical textured walls behind the surface
    walls: bool = False
    wall_texture: Optional[str] = "plain"
    wall_color: list[float] = field(default_factory=lambda: [0.8, 0.8, 0.78])
    wall_distance: float = 1.5
    wall_height: float = 1.5
    # Which photographic material suits this scene, as globs on file names (stems), when a randomization family
    # draws from a texture or panorama folder (randomization.background.texture_dir / panorama_dir), e.g. indoor
    # panoramas only for a tabletop scene: panoramas: ["*workshop*", "*hall*"]. Empty = every file.
    surfaces: list[str] = field(default_factory=list)
    walls_from: list[str] = field(default_factory=list)
    panoramas: list[str] = field(default_factory=list)


@dataclass
class CameraSpec:
    """Pinhole intrinsics (pixels) and placement ranges around ``look_at``."""

    fx: float = 600.0
    fy: float = 600.0
    cx: float = 320.0
    cy: float = 240.0
    width: int = 640
    height: int = 480
    znear: float = 0.05
    zfar: float = 20.0
    distance: list[float] = field(default_factory=lambda: [0.7, 1.1])
    elevation_deg: list[float] = field(default_factory=lambda: [35.0, 70.0])
    azimuth_deg: list[float] = field(default_factory=lambda: [0.0, 360.0])
    look_at: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.05])
    # look-at point jitter, uniform in a cube of this half size (metres)
    look_at_jitter: float = 0.05
    roll_deg: list[float] = field(default_factory=lambda: [0.0, 0.0])


@dataclass
class LightingSpec:
    """Base lighting: ambient plus directional lights (the lighting randomizer can replace it)."""

    ambient: float = 0.35
    n_lights: list[int] = field(default_factory=lambda: [1, 2])
    intensity: list[float] = field(default_factory=lambda: [2.0, 4.0])
    elevation_deg: list[float] = field(default_factory=lambda: [40.0, 80.0])


@dataclass
class PlacementSpec:
    """Where objects are dropped: x/y uniform in +-half_extent, from a height above the surface."""

    half_extent: list[float] = field(default_factory=lambda: [0.15, 0.15])
    drop_height: list[float] = field(default_factory=lambda: [0.05, 0.25])
    # initial orientation: uniform random rotation (true) or upright with random yaw (false)
    random_orientation: bool = True
    # with random_orientation, this fraction of objects still starts upright (random yaw) -- real tabletop
    # photos show most objects standing
    upright_probability: float = 0.0


# bodies weigh DENSITY x their collision volume (kg/m^3; the YCB objects average ~500: a cracker box 200, a soup can
# 870), at least MIN_MASS kg; physics (simgen/physics) and new-scene's mass notes both use these
DENSITY = 500.0
MIN_MASS = 0.005


@dataclass
class PhysicsSpec:
    max_steps: int = 300
    timestep: float = 1.0 / 240.0
    # stop early once every body moves slower than this (m/s; linear, and angular x 5 cm)
    rest_speed: float = 0.02
    friction: float = 0.8
    # constraint solver iterations per step (measured on scene=default: 10 instead of 20 saves ~15% of the
    # physics time but objects sink ~25% deeper into the table and each other)
    solver_iterations: int = 20
    # false: skip physics, objects stay at their drop poses (floating) -- for tests and debugging
    enabled: bool = True


@dataclass
class SceneSpec:
    name: str = "unnamed"
    description: str = ""
    objects: list[ObjectSpec] = field(default_factory=list)
    surface: SurfaceSpec = field(default_factory=SurfaceSpec)
    background: BackgroundSpec = field(default_factory=BackgroundSpec)
    camera: CameraSpec = field(default_factory=CameraSpec)
    lighting: LightingSpec = field(default_factory=LightingSpec)
    placement: PlacementSpec = field(default_factory=PlacementSpec)
    physics: PhysicsSpec = field(default_factory=PhysicsSpec)

    # ------------------------------------------------------------------ derived
    @property
    def categories(self) -> list[str]:
        """Labelled category names in order of first appearance (COCO category id = index + 1)."""
        out: list[str] = []
        for o in self.objects:
            if o.labelled and o.category not in out:
                out.append(o.category)
        return out


# ---------------------------------------------------------------------- loading

def resolve_scene_path(scene: str, scenes_dir: Path) -> Path:
    """``scene=<name>`` -> ``scenes/<name>.yaml``; a value ending in .yaml/.yml is a path to a user scene file."""
    if scene.endswith((".yaml", ".yml")):
        p = Path(scene).expanduser()
        if not p.is_file():
            raise ConfigError(f"scene file {scene!r} does not exist; pass scene=<name> of a built-in scene "
                              f"or the path of an existing .yaml file")
        return p
    if not scene or "/" in scene or "\\" in scene or scene.startswith("."):
        raise ConfigError(f"invalid scene name {scene!r}; use scene=<name> (one of: "
                          f"{', '.join(available_scenes(scenes_dir))}) or scene=<path/to/file.yaml>")
    p = scenes_dir / f"{scene}.yaml"
    if not p.is_file():
        raise ConfigError(f"unknown scene {scene!r}; choose one of: {', '.join(available_scenes(scenes_dir))} "
                          f"(or pass scene=<path/to/file.yaml>)")
    return p


def available_scenes(scenes_dir: Path) -> list[str]:
    return sorted(p.stem for p in scenes_dir.glob("*.yaml"))


def load_scene(path: Path) -> SceneSpec:
    """Read and validate a scene file. Raises ConfigError with a one-line message on any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scene file {path}: {exc.strerror}; check the path and permissions") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"scene file {path} is not valid YAML{where}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"scene file {path} must hold a mapping of keys (objects:, camera:, ...), "
                          f"not a {type(data).__name__}")
    spec = scene_from_dict(data, source=str(path))
    if spec.name == "unnamed":
        spec.name = Path(path).stem
    return spec


def scene_from_dict(data: dict[str, Any], source: str = "<dict>") -> SceneSpec:
    """Validate a plain dict against SceneSpec (unknown keys, wrong types, bad ranges -> ConfigError)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        base = OmegaConf.structured(SceneSpec)
        # lists of dataclasses need their element schema: validate each object separately
        objects = data.get("objects", [])
        if objects is None:
            objects = []
        if not isinstance(objects, list):
            raise ConfigError(f"{source}: 'objects' must be a list of objects")
        rest = {k: v for k, v in data.items() if k != "objects"}
        merged = OmegaConf.merge(base, rest)
        spec: SceneSpec = OmegaConf.to_object(merged)  # type: ignore[assignment]
        objs = []
        for i, o in enumerate(objects):
            if not isinstance(o, dict):
                raise ConfigError(f"{source}: objects[{i}] must be a mapping with at least 'category'")
            try:
                node = OmegaConf.merge(OmegaConf.structured(ObjectSpec), o)
            except OmegaConfBaseException as exc:
                raise ConfigError(f"{source}: objects[{i}]: {_omegaconf_msg(exc)}") from None
            objs.append(OmegaConf.to_object(node))
        spec.objects = objs
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{source}: {_omegaconf_msg(exc)}") from None
    validate_scene(spec, source)
    return spec


def _omegaconf_msg(exc: Exception) -> str:
    msg = str(exc).splitlines()[0].strip()
    key = getattr(exc, "full_key", None)
    if "not in struct" in msg or "Key '" in msg and "not" in msg:
        return f"{msg} (unknown key; check its spelling against scenes/default.yaml)"
    if key:
        return f"{msg} (key {key!r}; fix its value)"
    return msg


def _check_range(source: str, name: str, r: list, *, positive: bool = False, nonneg: bool = False,
                 length: int = 2) -> None:
    if len(r) != length:
        raise ConfigError(f"{source}: {name} must be a range [min, max], got {list(r)}; write it as [min, max]")
    for v in r:
        if not math.isfinite(float(v)):
            raise ConfigError(f"{source}: {name} contains {v}; use finite numbers")
    if r[0] > r[1]:
        raise ConfigError(f"{source}: {name} has min > max ({r[0]} > {r[1]}); swap them")
    if positive and r[0] <= 0:
        raise ConfigError(f"{source}: {name} must be > 0, got {list(r)}; use positive values")
    if nonneg and r[0] < 0:
        raise ConfigError(f"{source}: {name} must be >= 0, got {list(r)}; use values >= 0")


def _check_pos(source: str, name: str, v: float, allow_zero: bool = False) -> None:
    if not math.isfinite(float(v)) or (v < 0 if allow_zero else v <= 0):
        raise ConfigError(f"{source}: {name} must be a finite number {'>=' if allow_zero else '>'} 0, got {v}; "
                          f"fix the value")


def validate_scene(spec: SceneSpec, source: str = "<scene>") -> None:
    """Semantic checks beyond types. Raises ConfigError naming the field and the fix."""
    if not spec.objects or not any(o.labelled for o in spec.objects):
        raise ConfigError(f"{source}: the scene has no labelled objects; add at least one entry under 'objects:'")
    seen: dict[str, int] = {}
    for i, o in enumerate(spec.objects):
        if o.labelled and o.category in seen:
            raise ConfigError(f"{source}: category {o.category!r} appears in objects[{seen[o.category]}] and "
                              f"objects[{i}]; give each object entry its own category name")
        if o.labelled:
            seen[o.category] = i
    for i, o in enumerate(spec.objects):
        where = f"objects[{i}] ({o.category})"
        if not o.category or o.category == "???":
            raise ConfigError(f"{source}: objects[{i}] has no category; set category: <name>")
        if (o.mesh is None) == (o.shape is None):
            raise ConfigError(f"{source}: {where} needs exactly one of 'mesh' (a file) or 'shape' "
                              f"({', '.join(sorted(SHAPES))})")
        if o.shape is not None:
            if o.shape not in SHAPES:
                raise ConfigError(f"{source}: {where} has unknown shape {o.shape!r}; "
                                  f"use one of {', '.join(sorted(SHAPES))}")
            if len(o.size) != SHAPE_SIZES[o.shape]:
                raise ConfigError(f"{source}: {where} shape {o.shape} needs size with {SHAPE_SIZES[o.shape]} "
                                  f"values, got {list(o.size)}")
            for s in o.size:
                _check_pos(source, f"{where} size", s)
        _check_range(source, f"{where} count", o.count, nonneg=True)
        if o.count[1] < 1:
            raise ConfigError(f"{source}: {where} count max must be >= 1, got {list(o.count)}")
        _check_range(source, f"{where} scale", o.scale, positive=True)
        _check_pos(source, f"{where} mass", o.mass)
        if len(o.color) != 3:
            raise ConfigError(f"{source}: {where} color must be [r, g, b] in 0..1")
    c = spec.camera
    for name in ("fx", "fy", "znear", "zfar"):
        _check_pos(source, f"camera.{name}", getattr(c, name))
    for name in ("width", "height"):
        if getattr(c, name) <= 0:
            raise ConfigError(f"{source}: camera.{name} must be > 0, got {getattr(c, name)}")
    if c.znear >= c.zfar:
        raise ConfigError(f"{source}: camera.znear ({c.znear}) must be < camera.zfar ({c.zfar})")
    _check_range(source, "camera.distance", c.distance, positive=True)
    _check_range(source, "camera.elevation_deg", c.elevation_deg)
    _check_range(source, "camera.azimuth_deg", c.azimuth_deg)
    _check_range(source, "camera.roll_deg", c.roll_deg)
    if c.elevation_deg[0] < -90 or c.elevation_deg[1] > 90:
        raise ConfigError(f"{source}: camera.elevation_deg must lie in [-90, 90], got {list(c.elevation_deg)}")
    _check_pos(source, "camera.look_at_jitter", c.look_at_jitter, allow_zero=True)
    if len(c.look_at) != 3:
        raise ConfigError(f"{source}: camera.look_at must be [x, y, z]")
    L = spec.lighting
    _check_pos(source, "lighting.ambient", L.ambient, allow_zero=True)
    _check_range(source, "lighting.n_lights", L.n_lights, nonneg=True)
    _check_range(source, "lighting.intensity", L.intensity, nonneg=True)
    _check_range(source, "lighting.elevation_deg", L.elevation_deg)
    P = spec.placement
    _check_range(source, "placement.drop_height", P.drop_height, nonneg=True)
    if len(P.half_extent) != 2 or any((not math.isfinite(v)) or v < 0 for v in P.half_extent):
        raise ConfigError(f"{source}: placement.half_extent must be [hx, hy] >= 0, got {list(P.half_extent)}")
    if not 0.0 <= P.upright_probability <= 1.0:
        raise ConfigError(f"{source}: placement.upright_probability must be in [0, 1], got {P.upright_probability}")
    if spec.physics.max_steps < 0:
        raise ConfigError(f"{source}: physics.max_steps must be >= 0")
    _check_pos(source, "physics.timestep", spec.physics.timestep)
    if spec.physics.solver_iterations < 1:
        raise ConfigError(f"{source}: physics.solver_iterations must be >= 1, got {spec.physics.solver_iterations}")
    if len(spec.surface.size) != 2:
        raise ConfigError(f"{source}: surface.size must be [x, y] in metres")
    for s in spec.surface.size:
        _check_pos(source, "surface.size", s)
