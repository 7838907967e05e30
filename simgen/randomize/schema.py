"""Config schema of the randomization families (``conf/randomization/<family>/<preset>.yaml``).

One dataclass per family; every family has ``enabled`` (false in the dataclass defaults, so a bare
``RandomizationConfig()`` is the spine: no extra randomization) and its parameters as :class:`Dist` distributions,
sampled per sample from the family's own generator (see :mod:`simgen.core.rngs`).

A distribution in YAML::

    {dist: const, value: 1.0}
    {dist: uniform, low: 0.5, high: 2.0}
    {dist: loguniform, low: 0.01, high: 1.0}          # low > 0
    {dist: normal, mean: 0.0, std: 5.0, low: -15, high: 15}   # low/high optional: clip
    {dist: randint, low: 1, high: 4}                   # integers, both ends included
    {dist: choice, values: [a, b, c], p: [0.5, 0.3, 0.2]}     # p optional (uniform)

Semantic checks (min > max, NaN, probabilities, ...) run in :func:`validate_randomization` and raise
``ConfigError`` naming the key, e.g. ``randomization.lighting.intensity: low > high (5.0 > 2.0); swap them``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Optional

import numpy as np

from simgen.errors import ConfigError

DIST_KINDS = ("const", "uniform", "loguniform", "normal", "randint", "choice")


@dataclass
class Dist:
    """A scalar distribution (see the module docstring). Sample with :meth:`sample`."""

    dist: str = "const"
    value: Any = 0.0
    low: Optional[float] = None
    high: Optional[float] = None
    mean: float = 0.0
    std: float = 0.0
    values: list[Any] = field(default_factory=list)
    p: Optional[list[float]] = None

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: np.random.Generator) -> Any:
        """One draw. ``const`` draws nothing from ``rng``; the others draw exactly one value."""
        d = self.dist
        if d == "const":
            return self.value
        if d == "uniform":
            return float(rng.uniform(self.low, self.high))
        if d == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if d == "normal":
            v = float(rng.normal(self.mean, self.std))
            if self.low is not None:
                v = max(v, float(self.low))
            if self.high is not None:
                v = min(v, float(self.high))
            return v
        if d == "randint":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if d == "choice":
            k = int(rng.choice(len(self.values), p=self._probs()))
            return self.values[k]
        raise ConfigError(f"unknown distribution {d!r}")  # validate() catches this first

    def _probs(self) -> Optional[np.ndarray]:
        if self.p is None:
            return None
        p = np.asarray(self.p, np.float64)
        return p / p.sum()

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (numeric distributions); ``inf`` when unbounded."""
        d = self.dist
        if d == "const":
            return float(self.value), float(self.value)
        if d in ("uniform", "loguniform", "randint"):
            return float(self.low), float(self.high)
        if d == "normal":
            lo = -math.inf if self.low is None else float(self.low)
            hi = math.inf if self.high is None else float(self.high)
            return lo, hi
        vals = [float(v) for v in self.values]
        return min(vals), max(vals)

    def support(self) -> list[Any]:
        """Every value a ``choice``/``const`` can return (values with p > 0)."""
        if self.dist == "const":
            return [self.value]
        if self.dist == "choice":
            if self.p is None:
                return list(self.values)
            return [v for v, q in zip(self.values, self.p) if q > 0]
        raise ValueError("support() is only defined for const and choice")

    # ------------------------------------------------------------------ validation
    def validate(self, key: str, *, numeric: bool = True, lo: Optional[float] = None, hi: Optional[float] = None,
                 integer: bool = False, bounded: bool = False, allowed: Optional[set] = None) -> None:
        """Raise ConfigError naming ``key`` when the distribution is malformed or leaves [lo, hi]."""
        d = self.dist
        if d not in DIST_KINDS:
            raise ConfigError(f"{key}: unknown dist {d!r}; use one of {', '.join(DIST_KINDS)}")
        if allowed is not None or not numeric:
            if d not in ("const", "choice"):
                raise ConfigError(f"{key}: takes a name, so use dist: choice (values: [...]) or dist: const, "
                                  f"not {d}")
        if d == "choice":
            if not self.values:
                raise ConfigError(f"{key}: dist choice needs a non-empty 'values' list")
            if self.p is not None:
                if len(self.p) != len(self.values):
                    raise ConfigError(f"{key}: p has {len(self.p)} entries but values has {len(self.values)}; "
                                      f"give one probability per value (a p kept from the preset? set p: null)")
                if any((not _finite(q)) or q < 0 for q in self.p) or sum(self.p) <= 0:
                    raise ConfigError(f"{key}: p must be finite numbers >= 0 with a positive sum, got {list(self.p)}")
        if allowed is not None:
            for v in (self.support() if d in ("const", "choice") else []):
                if v not in allowed:
                    raise ConfigError(f"{key}: unknown value {v!r}; use one of {', '.join(sorted(map(str, allowed)))}")
        if not numeric:
            return
        if d == "const":
            _num(key, "value", self.value)
        elif d in ("uniform", "loguniform", "randint"):
            for name in ("low", "high"):
                if getattr(self, name) is None:
                    raise ConfigError(f"{key}: dist {d} needs '{name}'")
                _num(key, name, getattr(self, name))
            if self.low > self.high:
                raise ConfigError(f"{key}: low > high ({self.low} > {self.high}); swap them")
            if d == "loguniform" and self.low <= 0:
                raise ConfigError(f"{key}: loguniform needs low > 0, got {self.low}")
            if d == "randint" and (float(self.low) != int(self.low) or float(self.high) != int(self.high)):
                raise ConfigError(f"{key}: randint needs whole numbers, got [{self.low}, {self.high}]")
        elif d == "normal":
            _num(key, "mean", self.mean)
            _num(key, "std", self.std)
            if self.std < 0:
                raise ConfigError(f"{key}: std must be >= 0, got {self.std}")
            for name in ("low", "high"):
                if getattr(self, name) is not None:
                    _num(key, name, getattr(self, name))
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ConfigError(f"{key}: low > high ({self.low} > {self.high}); swap them")
            if bounded and (self.low is None or self.high is None):
                raise ConfigError(f"{key}: a normal distribution here needs both 'low' and 'high' (clip bounds)")
        elif d == "choice":
            for v in self.values:
                _num(key, "values", v)
        if integer:
            if d not in ("const", "randint", "choice"):
                raise ConfigError(f"{key}: takes whole numbers; use dist: randint, choice or const, not {d}")
            for v in ([self.value] if d == "const" else self.values if d == "choice" else []):
                if float(v) != int(v):
                    raise ConfigError(f"{key}: takes whole numbers, got {v}")
        b_lo, b_hi = self.bounds()
        if lo is not None and b_lo < lo:
            raise ConfigError(f"{key}: values must be >= {lo}, but this distribution reaches {b_lo}; "
                              f"raise its lower end" + (" (set low: for a normal)" if d == "normal" else ""))
        if hi is not None and b_hi > hi:
            raise ConfigError(f"{key}: values must be <= {hi}, but this distribution reaches {b_hi}; "
                              f"lower its upper end" + (" (set high: for a normal)" if d == "normal" else ""))


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _num(key: str, name: str, v: Any) -> None:
    if isinstance(v, bool) or not _finite(v):
        raise ConfigError(f"{key}: {name} must be a finite number, got {v!r}; fix the value")


# ---------------------------------------------------------------------- shorthands for defaults

def const(v: Any):
    return field(default_factory=lambda: Dist("const", value=v))


def uniform(lo: float, hi: float):
    return field(default_factory=lambda: Dist("uniform", low=lo, high=hi))


def loguniform(lo: float, hi: float):
    return field(default_factory=lambda: Dist("loguniform", low=lo, high=hi))


def normal(mean: float, std: float, lo: Optional[float] = None, hi: Optional[float] = None):
    return field(default_factory=lambda: Dist("normal", mean=mean, std=std, low=lo, high=hi))


def randint(lo: int, hi: int):
    return field(default_factory=lambda: Dist("randint", low=lo, high=hi))


def choice(values: list, p: Optional[list[float]] = None):
    return field(default_factory=lambda: Dist("choice", values=list(values), p=None if p is None else list(p)))


# ---------------------------------------------------------------------- families
# Dataclass defaults are the family switched off (enabled: false) with moderate parameter values, so turning a
# family on with ``randomization.<family>.enabled=true`` gives something sensible. The presets in
# conf/randomization/<family>/{off,moderate,strong}.yaml spell every value out.

LIGHT_KINDS = {"directional", "point", "spot"}


@dataclass
class LightingConfig:
    """Replaces the scene's lights: count, kind, intensity, colour temperature, direction/position, ambient."""

    enabled: bool = False
    n_lights: Dist = randint(1, 3)  # at most 4 of each kind (pyrender's limit)
    kind: Dist = choice(["directional", "point", "spot"], [0.6, 0.25, 0.15])
    # irradiance at the scene centre (W/m^2 as pyrender's directional lights; point/spot intensities are scaled by
    # distance^2 so the same value gives the same brightness at the centre)
    intensity: Dist = uniform(1.5, 4.5)
    kelvin: Dist = uniform(3500.0, 7500.0)  # colour temperature of each light
    elevation_deg: Dist = uniform(25.0, 85.0)  # direction the light comes from, above the horizon
    azimuth_deg: Dist = uniform(0.0, 360.0)
    # point/spot distance from the scene centre, as a multiple of the scene camera's mean distance
    distance_scale: Dist = uniform(0.8, 2.0)
    spot_cone_deg: Dist = uniform(20.0, 45.0)  # outer cone half-angle of spot lights
    ambient: Dist = uniform(0.15, 0.5)
    ambient_kelvin: Dist = uniform(5000.0, 9000.0)


@dataclass
class CameraConfig:
    """Camera moved around the spine's view: distance scale, elevation/azimuth offsets, look-at jitter, roll.
    Intrinsics stay the scene's unless ``focal_scale`` varies (a real camera's intrinsics: keep it const 1)."""

    enabled: bool = False
    # multiplies the spine camera's distance (drawn from the scene's camera.distance range)
    distance_scale: Dist = uniform(0.9, 1.2)
    # absolute ranges; null = keep the spine camera's own (drawn from the scene's range by the scene sampler)
    elevation_deg: Optional[Dist] = None
    azimuth_deg: Optional[Dist] = None
    # offsets added to that elevation / azimuth (degrees); the result is clipped to elevation_limits_deg
    elevation_offset_deg: Dist = const(0.0)
    azimuth_offset_deg: Dist = const(0.0)
    elevation_limits_deg: list[float] = field(default_factory=lambda: [5.0, 89.5])
    # look-at jitter per axis, as a fraction of the camera distance
    look_at_jitter: Dist = normal(0.0, 0.03, -0.1, 0.1)
    roll_deg: Dist = normal(0.0, 4.0, -12.0, 12.0)
    focal_scale: Dist = const(1.0)  # multiplies fx and fy (cx, cy unchanged)


@dataclass
class PoseConfig:
    """Object counts, drop height and orientation, scale jitter, placement area (re-draws the scene's objects)."""

    enabled: bool = False
    # added to each object kind's maximum count (per kind, per sample): count in [min, max + extra]
    count_extra: Dist = choice([0, 1], [0.7, 0.3])
    # height above the surface the objects are dropped from (metres, plus their radius); null = scene's range
    drop_height: Optional[Dist] = None
    # fraction of objects that start upright (random yaw), the rest uniformly random; null = scene's value
    upright_probability: Optional[Dist] = None
    scale_jitter: Dist = uniform(0.9, 1.1)  # multiplies each instance's scene scale
    area_scale: Dist = uniform(0.8, 1.3)  # multiplies the scene's placement half extents


TEXTURE_KINDS = {"checker", "stripes", "noise", "gradient", "wood", "plain"}


@dataclass
class MaterialConfig:
    """Per-instance colour jitter, metallic/roughness, procedural textures on untextured objects."""

    enabled: bool = False
    # untextured objects: hue rotation of the base colour (degrees)
    hue_shift_deg: Dist = normal(0.0, 12.0, -40.0, 40.0)
    # textured objects: a tint (random hue, this saturation) multiplies the texture -- colour_factor is a
    # per-channel multiplier, so on textures this shifts the white point rather than rotating every hue
    tint_saturation: Dist = uniform(0.0, 0.15)
    brightness: Dist = uniform(0.8, 1.15)
    metallic: Optional[Dist] = None  # null: the asset's own
    roughness: Optional[Dist] = None
    # chance that an untextured object instance wears a procedural texture from the bank
    texture_probability: Dist = const(0.3)
    textures: list[str] = field(default_factory=lambda: ["noise", "stripes", "checker", "gradient"])
    texture_bank: int = 3  # textured variants per untextured object kind, made (and uploaded) once at start
    # textured objects: chance an instance wears a hue-rotated copy of its texture (hue_bank copies per kind,
    # rotations spread around the colour wheel, made and uploaded once; 0 = none)
    hue_probability: Dist = const(0.5)
    hue_bank: int = 0


@dataclass
class BackgroundConfig:
    """Support surface and walls from a bank of procedural textures, background colour, backdrop images."""

    enabled: bool = False
    surface_probability: Dist = const(0.7)  # chance the scene's surface is swapped for one from the bank
    surface_textures: list[str] = field(default_factory=lambda: ["wood", "noise", "checker", "stripes",
                                                                 "gradient", "plain"])
    surface_bank: int = 6  # surfaces made once at start (one GL upload each)
    wall_probability: Dist = const(0.3)  # chance of walls from the bank (replacing the scene's own, if any)
    wall_textures: list[str] = field(default_factory=lambda: ["plain", "noise", "stripes", "gradient"])
    wall_bank: int = 3
    # wall distance from the scene centre, as a multiple of the surface's half diagonal
    wall_distance_scale: Dist = uniform(1.0, 2.0)
    # colour where nothing is rendered: random hue, these saturation and value
    bg_saturation: Dist = uniform(0.0, 0.4)
    bg_value: Dist = uniform(0.05, 0.7)
    # folder of JPEG/PNG images composited where nothing was rendered (depth 0); null = none
    image_dir: Optional[str] = None
    image_probability: Dist = const(0.5)
    bank_seed: int = 0  # seed of the texture banks (part of the config, not of the sample)


@dataclass
class DistractorsConfig:
    """Unlabelled objects that occlude: textured primitives and (untextured) meshes."""

    enabled: bool = False
    count: Dist = randint(1, 3)
    shapes: list[str] = field(default_factory=lambda: ["box", "cylinder", "sphere", "capsule", "cone", "torus"])
    primitive_bank: int = 8  # primitives (shape x texture) made once at start
    # mesh files (globs, relative to assets.root or absolute) used as distractors; meshes with their own texture
    # image are skipped when skip_textured (those are usually labelled classes), and so are the scene's own meshes
    meshes: list[str] = field(default_factory=list)
    skip_textured: bool = True
    max_meshes: int = 16
    mesh_probability: Dist = const(0.5)  # chance a distractor is a mesh (when any were found)
    # size: multiple of the scene objects' median radius
    size_scale: Dist = uniform(0.5, 1.2)
    # placement area: multiple of the scene's placement half extents
    area_scale: Dist = uniform(1.0, 1.5)
    bank_seed: int = 0


WEATHER_KINDS = {"clear", "fog", "haze", "rain", "snow", "low_light"}


@dataclass
class WeatherConfig:
    """Depth-aware weather: fog/haze attenuated by the rendered depth, rain streaks and snow flakes at 3D depths
    (hidden behind nearer geometry), wet darkening and snow cover on up-facing surfaces, low light with noise."""

    enabled: bool = False
    kind: Dist = choice(["clear", "fog", "haze", "rain", "snow", "low_light"], [0.6, 0.1, 0.1, 0.07, 0.06, 0.07])
    # meteorological visibility (distance of 5% transmission) as a multiple of the camera distance
    fog_visibility: Dist = uniform(2.5, 8.0)
    fog_brightness: Dist = uniform(0.6, 0.9)
    haze_visibility: Dist = uniform(6.0, 20.0)
    haze_brightness: Dist = uniform(0.7, 0.95)
    rain_drops: Dist = randint(150, 400)  # streaks in the view volume
    rain_length: Dist = uniform(0.03, 0.08)  # streak length, multiple of the camera distance
    rain_angle_deg: Dist = normal(0.0, 12.0, -35.0, 35.0)  # from vertical in the image
    rain_wetness: Dist = uniform(0.15, 0.35)  # darkening of up-facing surfaces
    snow_flakes: Dist = randint(200, 600)
    snow_size: Dist = uniform(0.004, 0.01)  # flake diameter, multiple of the camera distance
    snow_cover: Dist = uniform(0.15, 0.45)  # whitening of up-facing surfaces
    low_light_gain: Dist = uniform(0.12, 0.35)  # exposure multiplier
    low_light_photons: Dist = loguniform(150.0, 800.0)  # photons at full white (shot noise)
    low_light_read_noise: Dist = uniform(1.0, 4.0)  # read noise std (0..255 units)


DEFECT_KINDS = {"scratch", "dent", "crack", "rust", "stain"}


@dataclass
class DefectsConfig:
    """Surface defects on labelled objects, each a labelled instance of its own category (mask inside its object's
    visible mask). Drawn in image space on the object's tangent plane (from the rendered depth), so they
    foreshorten with the surface; dents re-shade the surface with perturbed normals and the scene's lights."""

    enabled: bool = False
    probability: Dist = const(0.3)  # per labelled, visible object
    kind: Dist = choice(["scratch", "dent", "crack", "rust", "stain"], [0.3, 0.2, 0.2, 0.2, 0.1])
    per_object: Dist = randint(1, 2)
    size: Dist = uniform(0.2, 0.5)  # defect extent, fraction of the object's radius
    strength: Dist = uniform(0.5, 1.0)  # contrast of the defect
    min_area: int = 6  # defects with fewer visible pixels are dropped (not drawn, not labelled)
    # categories exported for defects (ids after the scene's); must include every kind that can be drawn
    categories: list[str] = field(default_factory=lambda: ["scratch", "dent", "crack", "rust", "stain"])
    # only objects of these categories (fnmatch patterns) get defects
    objects: list[str] = field(default_factory=lambda: ["*"])


@dataclass
class SensorConfig:
    """Camera sensor and optics: exposure, defocus and motion blur, shot and read noise, gamma, JPEG."""

    enabled: bool = False
    exposure_ev: Dist = normal(0.0, 0.3, -1.0, 1.0)
    defocus_probability: Dist = const(0.2)
    defocus_px: Dist = uniform(0.6, 1.8)  # blur disk radius at the output resolution's 640-wide equivalent
    motion_blur_probability: Dist = const(0.15)
    motion_blur_px: Dist = uniform(2.0, 6.0)  # streak length (640-wide equivalent)
    motion_blur_angle_deg: Dist = uniform(0.0, 180.0)
    shot_noise_probability: Dist = const(0.5)
    photons: Dist = loguniform(2000.0, 20000.0)  # photons at full white
    read_noise: Dist = uniform(0.0, 2.5)  # Gaussian std in 0..255 units
    gamma: Dist = uniform(0.9, 1.1)
    jpeg_probability: Dist = const(0.3)
    jpeg_quality: Dist = randint(55, 95)


FAMILIES = ("lighting", "camera", "pose", "material", "background", "distractors", "weather", "defects", "sensor")


@dataclass
class RandomizationConfig:
    """All randomization families. ``RandomizationConfig()`` has every family off (= the spine)."""

    lighting: LightingConfig = field(default_factory=LightingConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    material: MaterialConfig = field(default_factory=MaterialConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    distractors: DistractorsConfig = field(default_factory=DistractorsConfig)
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    defects: DefectsConfig = field(default_factory=DefectsConfig)
    sensor: SensorConfig = field(default_factory=SensorConfig)

    def enabled_families(self) -> list[str]:
        return [f for f in FAMILIES if getattr(self, f).enabled]


# ---------------------------------------------------------------------- validation

_P01 = dict(lo=0.0, hi=1.0)
# per family: {field: validate() keyword arguments}; fields not listed are not distributions
_RULES: dict[str, dict[str, dict]] = {
    "lighting": {
        "n_lights": dict(integer=True, lo=0, hi=4), "kind": dict(numeric=False, allowed=LIGHT_KINDS),
        "intensity": dict(lo=0.0), "kelvin": dict(lo=1000.0, hi=40000.0), "elevation_deg": dict(lo=-90.0, hi=90.0),
        "azimuth_deg": {}, "distance_scale": dict(lo=1e-6), "spot_cone_deg": dict(lo=1.0, hi=89.0),
        "ambient": dict(lo=0.0), "ambient_kelvin": dict(lo=1000.0, hi=40000.0)},
    "camera": {
        "distance_scale": dict(lo=1e-6), "elevation_deg": dict(lo=-90.0, hi=90.0), "azimuth_deg": {},
        "elevation_offset_deg": dict(lo=-180.0, hi=180.0), "azimuth_offset_deg": {}, "look_at_jitter": {}, "roll_deg": {}, "focal_scale": dict(lo=1e-6)},
    "pose": {
        "count_extra": dict(integer=True, lo=0, hi=64), "drop_height": dict(lo=0.0),
        "upright_probability": _P01, "scale_jitter": dict(lo=1e-6), "area_scale": dict(lo=0.0)},
    "material": {
        "hue_shift_deg": {}, "tint_saturation": _P01, "brightness": dict(lo=0.0), "metallic": _P01,
        "roughness": _P01, "texture_probability": _P01, "hue_probability": _P01},
    "background": {
        "surface_probability": _P01, "wall_probability": _P01, "wall_distance_scale": dict(lo=0.5),
        "bg_saturation": _P01, "bg_value": _P01, "image_probability": _P01},
    "distractors": {
        "count": dict(integer=True, lo=0, hi=64), "mesh_probability": _P01, "size_scale": dict(lo=1e-6, bounded=True),
        "area_scale": dict(lo=0.0)},
    "weather": {
        "kind": dict(numeric=False, allowed=WEATHER_KINDS), "fog_visibility": dict(lo=1e-3),
        "fog_brightness": _P01, "haze_visibility": dict(lo=1e-3), "haze_brightness": _P01,
        "rain_drops": dict(integer=True, lo=0, hi=20000), "rain_length": dict(lo=0.0), "rain_angle_deg": {},
        "rain_wetness": _P01, "snow_flakes": dict(integer=True, lo=0, hi=20000), "snow_size": dict(lo=0.0),
        "snow_cover": _P01, "low_light_gain": dict(lo=0.0), "low_light_photons": dict(lo=1.0),
        "low_light_read_noise": dict(lo=0.0)},
    "defects": {
        "probability": _P01, "kind": dict(numeric=False, allowed=DEFECT_KINDS), "per_object": dict(integer=True, lo=0,
                                                                                                    hi=20),
        "size": dict(lo=1e-3, hi=2.0), "strength": _P01},
    "sensor": {
        "exposure_ev": dict(lo=-10.0, hi=10.0), "defocus_probability": _P01, "defocus_px": dict(lo=0.0, hi=50.0),
        "motion_blur_probability": _P01, "motion_blur_px": dict(lo=0.0, hi=100.0), "motion_blur_angle_deg": {},
        "shot_noise_probability": _P01, "photons": dict(lo=1.0), "read_noise": dict(lo=0.0, hi=255.0),
        "gamma": dict(lo=0.05, hi=20.0), "jpeg_probability": _P01, "jpeg_quality": dict(integer=True, lo=1, hi=100)},
}


def _check_names(key: str, names: list[str], allowed: set, *, nonempty: bool = True) -> None:
    if nonempty and not names:
        raise ConfigError(f"{key}: needs at least one of {', '.join(sorted(allowed))}")
    for n in names:
        if n not in allowed:
            raise ConfigError(f"{key}: unknown value {n!r}; use one of {', '.join(sorted(allowed))}")


def validate_randomization(cfg: RandomizationConfig, prefix: str = "randomization") -> None:
    """Check every family (enabled or not). Raises ConfigError naming the key and the fix."""
    from simgen.scene.spec import SHAPES

    for fam in FAMILIES:
        fc = getattr(cfg, fam)
        rules = _RULES[fam]
        for f in fields(fc):
            v = getattr(fc, f.name)
            if isinstance(v, Dist):
                v.validate(f"{prefix}.{fam}.{f.name}", **rules.get(f.name, {}))
            elif isinstance(v, dict):  # an untyped mapping cannot reach here through the structured config
                raise ConfigError(f"{prefix}.{fam}.{f.name}: expected a distribution")
    m, b, d, x = cfg.material, cfg.background, cfg.distractors, cfg.defects
    lim = cfg.camera.elevation_limits_deg
    if len(lim) != 2 or not all(math.isfinite(float(v)) for v in lim) or not -90.0 <= lim[0] <= lim[1] <= 90.0:
        raise ConfigError(f"{prefix}.camera.elevation_limits_deg must be [low, high] with -90 <= low <= high <= 90, "
                          f"got {list(lim)}")
    _check_names(f"{prefix}.material.textures", m.textures, TEXTURE_KINDS)
    _check_names(f"{prefix}.background.surface_textures", b.surface_textures, TEXTURE_KINDS)
    _check_names(f"{prefix}.background.wall_textures", b.wall_textures, TEXTURE_KINDS)
    _check_names(f"{prefix}.distractors.shapes", d.shapes, SHAPES)
    for name, n in ((f"{prefix}.material.texture_bank", m.texture_bank), (f"{prefix}.material.hue_bank", m.hue_bank),
                    (f"{prefix}.background.surface_bank",
                    b.surface_bank), (f"{prefix}.background.wall_bank", b.wall_bank),
                    (f"{prefix}.distractors.primitive_bank", d.primitive_bank),
                    (f"{prefix}.distractors.max_meshes", d.max_meshes)):
        if not 0 <= n <= 64:
            raise ConfigError(f"{name} must be in 0..64, got {n}")
    if d.enabled and d.primitive_bank < 1 and not d.meshes:
        raise ConfigError(f"{prefix}.distractors: primitive_bank is 0 and no meshes are given; set "
                          f"primitive_bank >= 1 or list mesh files under meshes")
    _check_names(f"{prefix}.defects.categories", x.categories, DEFECT_KINDS)
    missing = [k for k in x.kind.support() if k not in x.categories]
    if missing:
        raise ConfigError(f"{prefix}.defects.kind can draw {', '.join(missing)} but defects.categories does not list "
                          f"it; add it to categories or drop it from kind")
    if len(set(x.categories)) != len(x.categories):
        raise ConfigError(f"{prefix}.defects.categories lists a name twice: {x.categories}")
    if x.min_area < 1:
        raise ConfigError(f"{prefix}.defects.min_area must be >= 1, got {x.min_area}")
    if b.image_dir not in (None, ""):
        from pathlib import Path

        if not Path(b.image_dir).expanduser().is_dir():
            raise ConfigError(f"{prefix}.background.image_dir {b.image_dir!r} is not a folder; pass a folder of "
                              f"JPEG/PNG images or leave it null")
