"""Background: the support surface and walls from banks of procedurally textured meshes (made and uploaded once,
one picked per sample), a random background colour, and backdrop images composited where nothing was rendered
(depth 0). The background colour is set to the backdrop's mean so anti-aliased silhouettes blend into it."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.core.checks import check
from simgen.core.dist import Dist, const, loguniform, uniform
from simgen.core.geometry import norm, pose, rot_z
from simgen.core.imaging import hsv_rgb
from simgen.errors import ConfigError
from simgen.randomize.families.assets import bank_rng, matching, mirror_tiled, photo_files, photo_variant, random_colour
from simgen.randomize.family import Family, SampleContext
from simgen.scene.catalog import SURFACE_KEY, WALL_KEY, make_surface, make_wall
from simgen.scene.model import Light, Scene
from simgen.scene.panorama import (
    Envmap,
    auto_exposure,
    background,
    display_transform,
    env_lighting,
    list_panoramas,
    load_panorama,
)
from simgen.scene.spec import SceneSpec
from simgen.scene.textures import PROCEDURAL_TEXTURES, make_texture

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass
class BackgroundConfig:
    """Support surface and walls from photographs at real-world size or procedural textures, HDR panoramas as
    background and light, background colour, backdrop images."""

    enabled: bool = False
    # chance the scene's surface is swapped for one from the bank
    surface_probability: Dist = const(0.7, min=0.0, max=1.0)
    surface_textures: list[str] = field(default_factory=lambda: ["wood", "noise", "checker", "stripes",
                                                                 "gradient", "plain"],
                                        metadata=check(names=PROCEDURAL_TEXTURES, nonempty=True))
    # surfaces made once at start (one GL upload each)
    surface_bank: int = field(default=6, metadata=check(integer=True, min=0, max=64))
    # chance of walls from the bank (replacing the scene's own, if any)
    wall_probability: Dist = const(0.3, min=0.0, max=1.0)
    wall_textures: list[str] = field(default_factory=lambda: ["plain", "noise", "stripes", "gradient"],
                                     metadata=check(names=PROCEDURAL_TEXTURES, nonempty=True))
    wall_bank: int = field(default=3, metadata=check(integer=True, min=0, max=64))
    # wall distance from the scene centre, as a multiple of the surface's half diagonal
    wall_distance_scale: Dist = uniform(1.0, 2.0, min=0.5)
    # colour where nothing is rendered: random hue, these saturation and value
    bg_saturation: Dist = uniform(0.0, 0.4, min=0.0, max=1.0)
    bg_value: Dist = uniform(0.05, 0.7, min=0.0, max=1.0)
    # folder of JPEG/PNG images composited where nothing was rendered (depth 0); null = none
    image_dir: Optional[str] = None
    image_probability: Dist = const(0.5, min=0.0, max=1.0)
    bank_seed: int = 0  # seed of the texture banks (part of the config, not of the sample)
    # Photographic surfaces and walls: a folder of colour photos (JPEG/PNG, e.g. ../shared/textures/surfaces);
    # the banks then wear these instead of procedural textures, tiled at their real-world size (from the file
    # name's category: planks, tiles, ... see simgen/scene/texture_bank.py) times tile_scale. null = procedural.
    # The scene's background.surfaces / walls_from globs pick which files suit it.
    texture_dir: Optional[str] = None
    wall_texture_dir: Optional[str] = None  # null = texture_dir
    tile_scale: Dist = uniform(0.8, 1.25, min=0.05, max=20.0)
    # HDR panoramas (equirectangular .hdr, e.g. ../shared/textures/panoramas) drawn behind the scene, rotated
    # and exposed at random (exposure: x the panorama's auto exposure); the scene's background.panoramas globs
    # pick the ones that suit it. With panorama_lighting the panorama also lights the scene: its dominant light
    # (sun, window, lamp) becomes a shadow-casting directional light and the rest diffuse ambient light from
    # spherical harmonics, replacing the lighting family's lights. null = none.
    panorama_dir: Optional[str] = None
    panorama_probability: Dist = const(1.0, min=0.0, max=1.0)
    panorama_rotation_deg: Dist = uniform(0.0, 360.0)
    panorama_exposure: Dist = loguniform(0.6, 1.6, min=1e-3, max=1e3)
    panorama_lighting: bool = True

    def check(self, prefix: str) -> None:
        for key in ("image_dir", "texture_dir", "wall_texture_dir", "panorama_dir"):
            v = getattr(self, key)
            if v not in (None, "") and not Path(v).expanduser().is_dir():
                raise ConfigError(f"{prefix}.{key} {v!r} is not a folder; pass an existing folder or leave it null")


def surface_key(k: int) -> str:
    return f"{SURFACE_KEY}#bg{k}"


def wall_key(k: int) -> str:
    return f"{WALL_KEY}#bg{k}"


def list_images(image_dir) -> list[Path]:
    if image_dir in (None, ""):
        return []
    root = Path(image_dir).expanduser()
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def wall_distance_range(cfg: BackgroundConfig, spec: SceneSpec) -> tuple[float, float]:
    half_diag = 0.5 * float(np.hypot(*spec.surface.size))
    lo, hi = cfg.wall_distance_scale.bounds()
    return lo * half_diag, hi * half_diag


def build_bank(cfg: BackgroundConfig, spec: SceneSpec, catalog, surface_photos: list[Path] = (),
               wall_photos: list[Path] = ()) -> tuple[list[str], list[str]]:
    """Surface and wall variants added to ``catalog``: (surface keys, wall keys). With photos, the variants wear
    them (in a seeded order) instead of procedural textures."""
    if surface_photos or wall_photos:
        return _build_photo_bank(cfg, spec, catalog, list(surface_photos), list(wall_photos))
    rng = bank_rng("background", cfg.bank_seed)
    skeys = []
    if cfg.surface_probability.bounds()[1] > 0:
        for k in range(cfg.surface_bank):
            kind = cfg.surface_textures[k % len(cfg.surface_textures)]
            s = copy.deepcopy(spec)
            s.surface.texture = "plain"
            s.surface.texture_scale = float(rng.uniform(1.5, 6.0))
            m = make_surface(s)
            tex = mirror_tiled(make_texture(kind, rng, random_colour(rng, sat=(0.0, 0.6), val=(0.2, 0.9)), 256))
            catalog.meshes[surface_key(k)] = replace(m, key=surface_key(k), texture=tex,
                                                     roughness=float(rng.uniform(0.4, 0.95)),
                                                     source=f"surface bank {kind}")
            skeys.append(surface_key(k))
    wkeys = []
    if cfg.wall_probability.bounds()[1] > 0:
        _, dmax = wall_distance_range(cfg, spec)
        for k in range(cfg.wall_bank):
            kind = cfg.wall_textures[k % len(cfg.wall_textures)]
            s = copy.deepcopy(spec)
            s.background.wall_texture = "plain"
            s.background.wall_distance = dmax
            s.background.wall_height = max(1.5, 1.2 * dmax)
            m = make_wall(s)
            tex = mirror_tiled(make_texture(kind, rng, random_colour(rng, sat=(0.0, 0.5), val=(0.3, 0.95)), 256))
            catalog.meshes[wall_key(k)] = replace(m, key=wall_key(k), texture=tex, source=f"wall bank {kind}")
            wkeys.append(wall_key(k))
    return skeys, wkeys


def _build_photo_bank(cfg: BackgroundConfig, spec: SceneSpec, catalog, surface_photos: list[Path],
                      wall_photos: list[Path]) -> tuple[list[str], list[str]]:
    rng = bank_rng("background-photo", cfg.bank_seed)
    max_size = getattr(catalog, "max_texture_size", 1024)
    skeys = []
    if cfg.surface_probability.bounds()[1] > 0 and surface_photos:
        order = rng.permutation(len(surface_photos))
        base = make_surface(spec)
        for k in range(cfg.surface_bank):
            path = surface_photos[int(order[k % len(order)])]
            catalog.meshes[surface_key(k)] = photo_variant(base, surface_key(k), path, rng,
                                                            float(cfg.tile_scale.sample(rng)), max_size,
                                                            float(rng.uniform(0.5, 0.9)))
            skeys.append(surface_key(k))
    wkeys = []
    if cfg.wall_probability.bounds()[1] > 0 and wall_photos:
        _, dmax = wall_distance_range(cfg, spec)
        s = copy.deepcopy(spec)
        s.background.wall_texture, s.background.wall_distance = "plain", dmax
        s.background.wall_height = max(1.5, 1.2 * dmax)
        base = make_wall(s)
        order = rng.permutation(len(wall_photos))
        for k in range(cfg.wall_bank):
            path = wall_photos[int(order[k % len(order)])]
            catalog.meshes[wall_key(k)] = photo_variant(base, wall_key(k), path, rng,
                                                         float(cfg.tile_scale.sample(rng)), max_size, 0.9)
            wkeys.append(wall_key(k))
    return skeys, wkeys


def _env_lights(envmap: Envmap) -> tuple[list[Light], np.ndarray]:
    """The panorama's dominant light as a directional light (shining along -z of its pose, so +z points at the
    light) and the rest of it as SH ambient (9, 3)."""
    L = env_lighting(envmap)
    z = np.asarray(L.direction, np.float64)
    z = z / norm(z)
    x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.999 else np.array([1.0, 0.0, 0.0])
    x /= norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    T[:3, 3] = 2.0 * z
    lights = []
    if L.irradiance > 0:
        lights.append(Light(kind="directional", color=np.asarray(L.colour, np.float64),
                            intensity=float(L.irradiance), T_world_light=T))
    return lights, np.asarray(L.sh, np.float64)


def apply_scene(scene: Scene, cfg: BackgroundConfig, spec: SceneSpec, surface_keys: list[str],
                wall_keys: list[str], images: list[Path], rng: np.random.Generator,
                panoramas: list[Path] = (), photo_surfaces: bool = False) -> Scene:
    """Pick the surface, walls, background colour, backdrop image and panorama of this sample. With photographic
    surfaces the scene's own (procedural) surface is always replaced."""
    bg = hsv_rgb(rng.random(), float(cfg.bg_saturation.sample(rng)), float(cfg.bg_value.sample(rng)))
    u_surf, k_surf = float(rng.random()), int(rng.integers(1 << 30))
    p_surf = float(cfg.surface_probability.sample(rng))
    u_wall, k_wall = float(rng.random()), int(rng.integers(1 << 30))
    p_wall = float(cfg.wall_probability.sample(rng))
    d_wall = float(cfg.wall_distance_scale.sample(rng)) * 0.5 * float(np.hypot(*spec.surface.size))
    yaw = float(rng.uniform(0, 2 * np.pi))
    u_img, k_img = float(rng.random()), int(rng.integers(1 << 30))
    p_img = float(cfg.image_probability.sample(rng))
    crop = rng.random(4)  # x, y offset, zoom, flip

    env = list(scene.environment)
    if surface_keys and (u_surf < p_surf or photo_surfaces):
        env = [(surface_keys[k_surf % len(surface_keys)], T) if key == SURFACE_KEY else (key, T) for key, T in env]
    if wall_keys and u_wall < p_wall:
        env = [(key, T) for key, T in env if key != WALL_KEY]
        wk = wall_keys[k_wall % len(wall_keys)]
        for k in range(4):
            R = rot_z(yaw + k * np.pi / 2)
            env.append((wk, pose(R, R @ np.array([0.0, d_wall, 0.0]))))
    params = dict(scene.params)
    if images and u_img < p_img:
        path = images[k_img % len(images)]
        img = backdrop(path, scene.camera.width, scene.camera.height, tuple(float(c) for c in crop))
        bg = img.reshape(-1, 3).mean(0) / 255.0
        params["background_image"] = (str(path), tuple(float(c) for c in crop))
    out = replace(scene, environment=env, bg_color=np.asarray(bg, np.float64), params=params)
    if panoramas:  # drawn after everything above, so configs without panoramas keep their draws
        u_pano, k_pano = float(rng.random()), int(rng.integers(1 << 30))
        p_pano = float(cfg.panorama_probability.sample(rng))
        rotation = np.deg2rad(float(cfg.panorama_rotation_deg.sample(rng)))
        exposure = float(cfg.panorama_exposure.sample(rng))
        if u_pano < p_pano:
            out = with_panorama(out, panoramas[k_pano % len(panoramas)], rotation, exposure, cfg.panorama_lighting)
    return out


def with_panorama(scene: Scene, path: Path, rotation: float, exposure: float, lighting: bool) -> Scene:
    """The scene inside the panorama at ``path``: no walls or backdrop image (the panorama is the room), the
    background colour its mean in view (anti-aliased edges blend into it) and, with ``lighting``, its lights."""
    envmap = Envmap(str(path), rotation, exposure * auto_exposure(load_panorama(path)))
    c = scene.camera
    bg = panorama_view(envmap, c)
    params = {k: v for k, v in scene.params.items() if k != "background_image"}
    params["panorama"] = {"file": path.name, "rotation_deg": round(float(np.rad2deg(rotation)), 3),
                          "exposure": round(float(envmap.exposure), 6)}
    out = replace(scene, environment=[(k, T) for k, T in scene.environment if not k.startswith(WALL_KEY)],
                  envmap=envmap, bg_color=np.asarray(bg.reshape(-1, 3).mean(0), np.float64) / 255.0,
                  params=params)
    if lighting:
        lights, sh = _env_lights(envmap)
        params["lights_from_panorama"] = True
        out = replace(out, lights=lights, ambient=np.zeros(3), ambient_sh=sh)
    return out


def panorama_view(envmap: Envmap, camera) -> np.ndarray:
    """What ``camera`` sees of the panorama, display-ready: (H, W, 3) uint8, read-only (kept for the composite)."""
    return _panorama_view(envmap.path, float(envmap.rotation), float(envmap.exposure), camera.K.tobytes(),
                          np.asarray(camera.T_world_cam, np.float64).tobytes(), int(camera.width), int(camera.height))


@lru_cache(maxsize=4)
def _panorama_view(path: str, rotation: float, exposure: float, K: bytes, T: bytes, width: int,
                   height: int) -> np.ndarray:
    K_ = np.frombuffer(K, np.float64).reshape(3, 3)
    T_ = np.frombuffer(T, np.float64).reshape(4, 4)
    out = display_transform(background(load_panorama(path), K_, T_, width, height, rotation, exposure))
    out.flags.writeable = False
    return out


@lru_cache(maxsize=8)
def _read(path: str) -> np.ndarray:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def backdrop(path, width: int, height: int, crop: tuple[float, float, float, float]) -> np.ndarray:
    """The image at ``path`` cropped (zoom 1..1.6x, offset) and resized to (height, width, 3) uint8, read-only.

    The last few are kept (a sample needs its backdrop twice: its mean colour after physics, the composite after
    rendering), so do not modify the result."""
    return _backdrop(str(path), int(width), int(height), tuple(float(c) for c in crop))


@lru_cache(maxsize=4)
def _backdrop(path: str, width: int, height: int, crop: tuple[float, float, float, float]) -> np.ndarray:
    import cv2

    try:
        img = _read(path)
    except OSError:
        log.warning("backdrop %s is not a readable image; using grey", path)
        out = np.full((height, width, 3), 128, np.uint8)
        out.flags.writeable = False
        return out
    h, w = img.shape[:2]
    aspect = width / height
    cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
    zoom = 1.0 + 0.6 * crop[2]
    cw, ch = cw / zoom, ch / zoom
    x0 = crop[0] * (w - cw)
    y0 = crop[1] * (h - ch)
    M = np.array([[width / cw, 0, -x0 * width / cw], [0, height / ch, -y0 * height / ch]], np.float64)
    out = cv2.warpAffine(img, M, (width, height), flags=cv2.INTER_AREA if cw > width else cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    if crop[3] < 0.5:
        out = cv2.flip(out, 1)
    out.flags.writeable = False
    return out


def composite(rgb: np.ndarray, depth: np.ndarray, scene: Scene, environment_drawn: bool = False) -> np.ndarray:
    """Backdrop image or panorama where nothing was rendered (depth 0). rgb (H, W, 3) uint8 -> new array (rgb
    itself when the sample has neither, or when the renderer drew the panorama itself)."""
    import cv2

    if scene.envmap is not None:
        if environment_drawn:
            return rgb
        img = panorama_view(scene.envmap, scene.camera)
    else:
        info = scene.params.get("background_image")
        if info is None:
            return rgb
        path, crop = info
        h, w = depth.shape
        img = backdrop(path, w, h, crop)
    empty = np.less_equal(depth, 0).view(np.uint8)  # 0/1 mask
    out = rgb.copy()
    cv2.copyTo(img, empty, out)  # out keeps rgb where the mask is 0
    return out


class BackgroundFamily(Family):
    name = "background"
    stream_id = 5
    order = 60
    Config = BackgroundConfig

    def __init__(self, cfg: BackgroundConfig, spec: SceneSpec) -> None:
        super().__init__(cfg, spec)
        self.surface_keys: list[str] = []
        self.wall_keys: list[str] = []
        self.images = list_images(cfg.image_dir)
        if cfg.image_dir not in (None, "") and not self.images:
            raise ConfigError(f"randomization.background.image_dir {cfg.image_dir!r} holds no "
                              f".jpg/.jpeg/.png images; add some or leave it null")
        # photos and panoramas are listed and decoded here, before anything is written (one-line errors)
        key = "randomization.background"
        b = spec.background
        self.surface_photos = photo_files(cfg.texture_dir, b.surfaces, f"{key}.texture_dir") \
            if cfg.texture_dir else []
        wall_dir = cfg.wall_texture_dir or cfg.texture_dir
        self.wall_photos = photo_files(wall_dir, b.walls_from, f"{key}.wall_texture_dir") if wall_dir else []
        self.panoramas: list[Path] = []
        if cfg.panorama_dir:
            self.panoramas = matching(list_panoramas(cfg.panorama_dir, key=f"{key}.panorama_dir"), b.panoramas,
                                      "panoramas")
            for p in self.panoramas:
                load_panorama(p)

    def setup(self, catalog, assets_root) -> None:
        self.surface_keys, self.wall_keys = build_bank(self.cfg, self.spec, catalog, self.surface_photos,
                                                       self.wall_photos)

    def pool_sizes(self, catalog, pools: dict[str, int]) -> None:
        pools.update((k, 1) for k in self.surface_keys)
        pools.update((k, 4) for k in self.wall_keys)

    def after_physics(self, ctx: SampleContext) -> None:
        ctx.scene = apply_scene(ctx.scene, self.cfg, self.spec, self.surface_keys, self.wall_keys, self.images,
                                ctx.rng, self.panoramas, bool(self.surface_photos))

    def after_render(self, ctx: SampleContext) -> None:
        ctx.rgb = composite(ctx.rgb, ctx.frame.depth, ctx.scene, ctx.frame.environment_drawn)
