"""Scene descriptions (``scenes/<name>.yaml``): what a user edits.

A scene file is data: it is read with ``yaml.safe_load``, validated against these dataclasses (unknown keys and wrong
types are errors), and never instantiates or executes anything.

Conventions: lengths in metres, angles in the file in degrees (names end in ``_deg``), colours RGB in 0..1,
ranges as ``[min, max]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from simgen.core.checks import check, validate_fields
from simgen.errors import ConfigError
from simgen.scene.shapes import SHAPE_SIZES, SHAPES

# bounds of a scene file (checked at load, before anything is written)
MAX_COUNT = 256  # instances of one object kind per sample
MAX_OBJECT_KINDS = 1000
MAX_IMAGE_SIDE = 16384
MAX_SCENE_BYTES = 1 << 20  # a scene file
MAX_YAML_NODES = 100_000  # values in the file, counting every alias expansion
MAX_YAML_DEPTH = 32


@dataclass
class ObjectSpec:
    """One kind of object. Either ``mesh`` (file relative to ``assets.root``) or ``shape`` (procedural)."""

    category: str = "???"
    mesh: Optional[str] = None
    # box: [x, y, z] extents; cylinder/capsule/cone: [radius, height]; sphere: [radius]; torus: [R, r]
    shape: Optional[str] = None
    size: list[float] = field(default_factory=list, metadata=check(each=True, gt=0.0, max=1000.0))
    # procedural texture name (checker, stripes, noise, gradient, wood, plain) or image file under assets.root;
    # meshes with their own texture (OBJ+MTL, GLB) keep it when this is null
    texture: Optional[str] = None
    color: list[float] = field(default_factory=lambda: [0.7, 0.7, 0.7], metadata=check(length=3, min=0.0, max=1.0))
    # instances per sample, [min, max] (max at most MAX_COUNT)
    count: list[int] = field(default_factory=lambda: [1, 1], metadata=check(pair=True, integer=True, min=0,
                                                                            max=MAX_COUNT))
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0], metadata=check(pair=True, gt=0.0, max=1000.0))
    mass: float = field(default=0.2, metadata=check(gt=0.0, max=1e6))
    metallic: float = field(default=0.0, metadata=check(min=0.0, max=1.0))
    roughness: float = field(default=0.7, metadata=check(min=0.0, max=1.0))
    # false: an unlabelled distractor (occludes, never exported)
    labelled: bool = True

    def check(self, prefix: str) -> None:
        where = f"{prefix} ({self.category})"
        if not self.category or self.category == "???":
            raise ConfigError(f"{prefix} has no category; set category: <name>")
        if (self.mesh is None) == (self.shape is None):
            raise ConfigError(f"{where} needs exactly one of 'mesh' (a file) or 'shape' ({', '.join(sorted(SHAPES))})")
        if self.shape is not None:
            if self.shape not in SHAPES:
                raise ConfigError(f"{where} has unknown shape {self.shape!r}; use one of {', '.join(sorted(SHAPES))}")
            if len(self.size) != SHAPE_SIZES[self.shape]:
                raise ConfigError(f"{where} shape {self.shape} needs size with {SHAPE_SIZES[self.shape]} values, got "
                                  f"{list(self.size)}")
        if self.count[1] < 1:
            raise ConfigError(f"{where} count max must be >= 1, got {list(self.count)}")


@dataclass
class SurfaceSpec:
    """Support surface the objects settle on: a textured slab whose top is at z = 0."""

    size: list[float] = field(default_factory=lambda: [1.2, 1.2], metadata=check(length=2, gt=0.0, max=1000.0))
    texture: Optional[str] = "wood"
    color: list[float] = field(default_factory=lambda: [0.55, 0.42, 0.3], metadata=check(length=3, min=0.0, max=1.0))
    texture_scale: float = field(default=4.0, metadata=check(gt=0.0, max=1e4))


@dataclass
class BackgroundSpec:
    color: list[float] = field(default_factory=lambda: [0.25, 0.25, 0.28], metadata=check(length=3, min=0.0, max=1.0))
    # vertical textured walls behind the surface
    walls: bool = False
    wall_texture: Optional[str] = "plain"
    wall_color: list[float] = field(default_factory=lambda: [0.8, 0.8, 0.78], metadata=check(length=3, min=0.0,
                                                                                             max=1.0))
    wall_distance: float = field(default=1.5, metadata=check(gt=0.0, max=1000.0))
    wall_height: float = field(default=1.5, metadata=check(gt=0.0, max=1000.0))
    # Which photographic material suits this scene, as globs on file names (stems), when a randomization family
    # draws from a texture or panorama folder (randomization.background.texture_dir / panorama_dir), e.g. indoor
    # panoramas only for a tabletop scene: panoramas: ["*workshop*", "*hall*"]. Empty = every file.
    surfaces: list[str] = field(default_factory=list)
    walls_from: list[str] = field(default_factory=list)
    panoramas: list[str] = field(default_factory=list)


@dataclass
class CameraSpec:
    """Pinhole intrinsics (pixels) and placement ranges around ``look_at``."""

    fx: float = field(default=600.0, metadata=check(gt=0.0, max=1e6))
    fy: float = field(default=600.0, metadata=check(gt=0.0, max=1e6))
    cx: float = field(default=320.0, metadata=check(min=-1e6, max=1e6))
    cy: float = field(default=240.0, metadata=check(min=-1e6, max=1e6))
    width: int = field(default=640, metadata=check(integer=True, min=1, max=MAX_IMAGE_SIDE))
    height: int = field(default=480, metadata=check(integer=True, min=1, max=MAX_IMAGE_SIDE))
    znear: float = field(default=0.05, metadata=check(gt=0.0, max=1e4))
    zfar: float = field(default=20.0, metadata=check(gt=0.0, max=1e6))
    distance: list[float] = field(default_factory=lambda: [0.7, 1.1], metadata=check(pair=True, gt=0.0, max=1e4))
    elevation_deg: list[float] = field(default_factory=lambda: [35.0, 70.0], metadata=check(pair=True, min=-90.0,
                                                                                            max=90.0))
    azimuth_deg: list[float] = field(default_factory=lambda: [0.0, 360.0], metadata=check(pair=True, min=-3600.0,
                                                                                          max=3600.0))
    look_at: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.05], metadata=check(length=3, min=-1e4,
                                                                                           max=1e4))
    # look-at point jitter, uniform in a cube of this half size (metres)
    look_at_jitter: float = field(default=0.05, metadata=check(min=0.0, max=1e3))
    roll_deg: list[float] = field(default_factory=lambda: [0.0, 0.0], metadata=check(pair=True, min=-180.0, max=180.0))


@dataclass
class LightingSpec:
    """Base lighting: ambient plus directional lights (the lighting randomizer can replace it)."""

    ambient: float = field(default=0.35, metadata=check(min=0.0, max=1e3))
    n_lights: list[int] = field(default_factory=lambda: [1, 2], metadata=check(pair=True, integer=True, min=0, max=4))
    intensity: list[float] = field(default_factory=lambda: [2.0, 4.0], metadata=check(pair=True, min=0.0, max=1e4))
    elevation_deg: list[float] = field(default_factory=lambda: [40.0, 80.0], metadata=check(pair=True, min=-90.0,
                                                                                            max=90.0))


@dataclass
class PlacementSpec:
    """Where objects are dropped: x/y uniform in +-half_extent, from a height above the surface."""

    half_extent: list[float] = field(default_factory=lambda: [0.15, 0.15], metadata=check(length=2, min=0.0,
                                                                                          max=1e3))
    drop_height: list[float] = field(default_factory=lambda: [0.05, 0.25], metadata=check(pair=True, min=0.0,
                                                                                          max=1e3))
    # initial orientation: uniform random rotation (true) or upright with random yaw (false)
    random_orientation: bool = True
    # with random_orientation, this fraction of objects still starts upright (random yaw) -- real tabletop
    # photos show most objects standing
    upright_probability: float = field(default=0.0, metadata=check(min=0.0, max=1.0))


# bodies weigh DENSITY x their collision volume (kg/m^3; the YCB objects average ~500: a cracker box 200, a soup can
# 870), at least MIN_MASS kg; physics (simgen/physics) and new-scene's mass notes both use these
DENSITY = 500.0
MIN_MASS = 0.005


@dataclass
class PhysicsSpec:
    max_steps: int = field(default=300, metadata=check(integer=True, min=0, max=100_000))
    timestep: float = field(default=1.0 / 240.0, metadata=check(gt=0.0, max=1.0))
    # stop early once every body moves slower than this (m/s; linear, and angular x 5 cm)
    rest_speed: float = field(default=0.02, metadata=check(min=0.0, max=1e3))
    friction: float = field(default=0.8, metadata=check(min=0.0, max=100.0))
    # constraint solver iterations per step (measured on scene=default: 10 instead of 20 saves ~15% of the
    # physics time but objects sink ~25% deeper into the table and each other)
    solver_iterations: int = field(default=20, metadata=check(integer=True, min=1, max=1000))
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

    def check(self, prefix: str) -> None:
        """Rules that relate several fields (the field rules are in each field's metadata)."""
        if not self.objects or not any(o.labelled for o in self.objects):
            raise ConfigError("the scene has no labelled objects; add at least one entry under 'objects:'")
        if len(self.objects) > MAX_OBJECT_KINDS:
            raise ConfigError(f"the scene lists {len(self.objects)} object kinds, more than {MAX_OBJECT_KINDS}; "
                              f"split it into several scenes")
        seen: dict[str, int] = {}
        for i, o in enumerate(self.objects):
            if o.labelled and o.category in seen:
                raise ConfigError(f"category {o.category!r} appears in objects[{seen[o.category]}] and objects[{i}]; "
                                  f"give each object entry its own category name")
            if o.labelled:
                seen[o.category] = i
        if self.camera.znear >= self.camera.zfar:
            raise ConfigError(f"camera.znear ({self.camera.znear}) must be < camera.zfar ({self.camera.zfar})")


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


def _bounded_yaml(text: str, path) -> Any:
    """``yaml.safe_load`` with bounds: aliases are expanded by counting (an alias bomb of a few hundred bytes
    would expand to billions of values when the scene is merged), and nesting is limited. ConfigError if the
    document is larger than :data:`MAX_YAML_NODES` values (aliases counted expanded) or nested deeper than
    :data:`MAX_YAML_DEPTH`."""
    class _Loader(yaml.SafeLoader):
        pass

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}  # node id -> expanded value count (aliases point at shared node objects)

        def count(n, depth: int) -> int:
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(f"scene file {path} nests deeper than {MAX_YAML_DEPTH} levels; flatten it")
            if id(n) in sizes:
                return sizes[id(n)]
            sizes[id(n)] = 1  # a node that refers to itself counts once (no recursion)
            if isinstance(n, yaml.SequenceNode):
                total = 1 + sum(count(c, depth + 1) for c in n.value)
            elif isinstance(n, yaml.MappingNode):
                total = 1 + sum(count(k, depth + 1) + count(v, depth + 1) for k, v in n.value)
            else:
                total = 1
            if total > MAX_YAML_NODES:
                raise ConfigError(f"scene file {path} expands to more than {MAX_YAML_NODES} values (anchors and "
                                  f"aliases counted expanded); write the scene out without nested aliases")
            sizes[id(n)] = total
            return total

        count(node, 0)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_scene(path: Path) -> SceneSpec:
    """Read and validate a scene file (at most :data:`MAX_SCENE_BYTES`, bounded YAML). Raises ConfigError with a
    one-line message on any problem."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_SCENE_BYTES:
            raise ConfigError(f"scene file {path} is {size} bytes, more than {MAX_SCENE_BYTES}; a scene file lists "
                              f"objects and ranges, not data: check the path")
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scene file {path}: {exc.strerror}; check the path and permissions") from None
    except UnicodeDecodeError:
        raise ConfigError(f"scene file {path} is not UTF-8 text; save it as UTF-8 YAML") from None
    try:
        data = _bounded_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"scene file {path} is not valid YAML{where}; fix the syntax") from None
    except RecursionError:
        raise ConfigError(f"scene file {path} nests too deeply; flatten it") from None
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


def validate_scene(spec: SceneSpec, source: str = "<scene>") -> None:
    """Every field rule (ranges, lengths, NaN/inf anywhere; in the field metadata) and the cross-field rules
    (:meth:`SceneSpec.check`). Raises ConfigError naming the file, the field and the fix."""
    try:
        validate_fields(spec, "")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
