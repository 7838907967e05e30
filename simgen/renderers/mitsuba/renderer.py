"""Path-traced colour with Mitsuba 3 (CPU: LLVM JIT variant, scalar fallback).

Colour only: labels still come from the raster id pass of the same poses. The Mitsuba scene is built once, on
the first render after :meth:`MitsubaColourRenderer.prepare`, with a few generic mesh slots (as many as the
largest scene so far holds objects + environment pieces) and a pool of emitter slots per light kind. A sample
then only rewrites scene parameters (``mi.traverse``): each slot takes one object's geometry (vertices placed in
the world and normals rotated in numpy; vertex/face counts may change) and material (texture re-encoded through
a 256-entry table per channel for the per-sample colour factor; untextured assets use a white 2x2 one), unused
slots shrink to one degenerate triangle, and camera, lights and environment are set. The kernel Dr.Jit compiles
on the first render is reused for every later sample with the same slot counts (measured: new seeds, poses,
assets and materials cost no recompilation). A scene with more objects or lights of a kind than any before grows
the pools and rebuilds once.

Why not a slot per asset (or Mitsuba instances): in the LLVM variant the megakernel's cost grows with the number
of shapes in the scene, hidden or not (measured on a YCB scene: +50 hidden single-triangle shapes = +75% render
time; 62 per-asset instances = 5x slower than 12 plain meshes).

Shading follows pyrender's inputs: a principled BSDF (base colour = texture x colour factor, clipped to [0, 1]
like pyrender; metallic; roughness clamped to >= 0.04; specular 0.5, i.e. F0 = 0.04 for dielectrics) on both
sides of every surface. Lights use pyrender's units: directional ``intensity`` is irradiance (W/m^2), point and
spot ``intensity`` is W/sr (irradiance intensity / d^2). Spot cones fall off linearly in angle between the inner
and outer cone (Mitsuba's spot), pyrender's quadratically in cosine. ``scene.ambient`` becomes a uniform
environment of that radiance (a Lambertian surface then gets ``ambient * albedo``, pyrender's ambient term); a
panorama (``scene.envmap``) replaces it as the environment light (scaled by its exposure, rotated by its
rotation). Emitters are not seen directly: pixels whose camera ray escapes show ``scene.bg_color`` (display
space, as pyrender's clear colour) or the panorama as the numpy reference of the convention computes it
(:func:`simgen.renderers.mitsuba.convert.envmap_background`), composited with the film's alpha.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.errors import AssetError, ConfigError, RenderError
from simgen.renderers.mitsuba import convert
from simgen.renderers.mitsuba.denoise import NEEDS_AOVS, OidnDenoiser, check_denoiser, nlmeans
from simgen.renderers.mitsuba.variant import import_mitsuba, select_variant

log = logging.getLogger(__name__)

MAX_SIZE = 8192
MAX_SPP = 1 << 16
MAX_DEPTH = 64
MAX_SLOTS = 256  # meshes / lights of one kind in one scene
MIN_ROUGHNESS = 0.04  # pyrender's clamp
AUX_SPP = 4  # samples per pixel of the denoiser's albedo / normal guides
_HIDDEN_AT = np.zeros(3)  # unused slots at build time; each render moves them into the visible geometry
_LIGHT_KINDS = ("directional", "point", "spot")
_RFILTERS = ("box", "gaussian", "tent")


@dataclass
class PathTraceSettings:
    """Config-facing settings (plain values; the lead maps the Hydra group onto them)."""

    spp: int = 64
    max_depth: int = 8
    denoise: str = "none"  # none | oidn | nlmeans
    variant: Optional[str] = None  # None: fastest usable (llvm_ad_rgb, else scalar_rgb)
    threads: Optional[int] = None  # None: the CPUs this process may run on
    rfilter: str = "box"


@dataclass
class _Asset:
    vertices: np.ndarray  # (N, 3) float32, object frame
    normals: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (M * 3,) uint32
    uv: np.ndarray  # (N * 2,) float32, v pointing down the image (Mitsuba's convention); zeros when untextured
    texture: np.ndarray  # (H, W, 3) uint8 sRGB; (2, 2, 3) white when the asset has none
    base_color: np.ndarray  # (3,) float64
    metallic: float
    roughness: float


@dataclass
class _Slot:
    name: str  # Mitsuba id of the slot's mesh
    key: Optional[str] = None  # asset held, None = hidden
    pose: Optional[tuple] = None  # (T bytes, scale) last written; for a hidden slot: where it was collapsed
    material: Optional[tuple] = None  # (factor bytes, metallic, roughness) last written
    bounds: Optional[np.ndarray] = None  # (2, 3) world bounding box of the placed mesh


def _factor_lut(factor: np.ndarray) -> np.ndarray:
    """(3,) linear colour factor -> (256, 3) uint8 table: sRGB code -> sRGB code of (linear value x factor),
    i.e. pyrender's ``base_color_factor * srgb_to_linear(texture)`` re-encoded in 8 bits."""
    lin = convert.srgb_to_linear(np.arange(256, dtype=np.uint8)[:, None].repeat(3, 1)).astype(np.float64)
    x = np.clip(lin * np.asarray(factor, np.float64)[None, :], 0.0, 1.0)
    enc = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(enc * 255.0), 0, 255).astype(np.uint8)


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check_mesh(key: str, m) -> _Asset:
    """MeshData -> _Asset, or AssetError naming the asset and the fix."""
    v = np.asarray(m.vertices)
    f = np.asarray(m.faces)
    n = np.asarray(m.normals) if m.normals is not None else None
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise AssetError(f"mesh {key!r} has vertices {v.shape} / faces {f.shape}; expected (N, 3) and (M, 3) with "
                         f"N >= 3, M >= 1: re-export it")
    if not np.isfinite(v).all():
        raise AssetError(f"mesh {key!r} has NaN/inf vertices; repair or re-export it")
    if f.min() < 0 or f.max() >= len(v):
        raise AssetError(f"mesh {key!r} has face indices outside 0..{len(v) - 1}; re-export it")
    if n is None or n.shape != v.shape or not np.isfinite(n).all():
        raise AssetError(f"mesh {key!r} has no valid per-vertex normals (shape {None if n is None else n.shape}); "
                         f"recompute them (trimesh vertex_normals)")
    tex, uv = m.texture, m.uv
    if tex is not None:
        tex = np.asarray(tex)
        if tex.dtype != np.uint8 or tex.ndim != 3 or tex.shape[2] != 3 or min(tex.shape[:2]) < 1:
            raise AssetError(f"mesh {key!r} texture is {tex.dtype} {tex.shape}; expected (H, W, 3) uint8 sRGB")
        if max(tex.shape[:2]) > MAX_SIZE:
            raise AssetError(f"mesh {key!r} texture is {tex.shape[1]}x{tex.shape[0]}; at most {MAX_SIZE} px a "
                             f"side: lower render.max_texture_size")
        if uv is None:
            raise AssetError(f"mesh {key!r} has a texture but no UV coordinates; give it UVs or drop the texture")
        uv = np.asarray(uv, np.float32)
        if uv.shape != (len(v), 2) or not np.isfinite(uv).all():
            raise AssetError(f"mesh {key!r} UVs are {uv.shape}, expected ({len(v)}, 2) finite; re-export it")
        uv = np.stack([uv[:, 0], 1.0 - uv[:, 1]], 1).astype(np.float32)  # OpenGL v up -> Mitsuba v down
        tex = np.ascontiguousarray(tex)
    else:
        uv = np.zeros((len(v), 2), np.float32)
        tex = np.full((2, 2, 3), 255, np.uint8)  # Mitsuba updates need >= 2x2
    bc = np.asarray(m.base_color, np.float64).reshape(-1)
    if bc.size < 3 or not np.isfinite(bc[:3]).all():
        raise AssetError(f"mesh {key!r} base_color {m.base_color!r} is not an RGB(A) colour in 0..1")
    return _Asset(vertices=v.astype(np.float32), normals=n.astype(np.float32),
                  faces=np.ascontiguousarray(f, np.uint32).ravel(), uv=np.ascontiguousarray(uv).ravel(),
                  texture=tex, base_color=bc[:3], metallic=float(m.metallic),
                  roughness=float(m.roughness))


class MitsubaColourRenderer:
    """``with MitsubaColourRenderer(640, 480, spp=64) as r: r.prepare(catalog); rgb = r.render(scene, seed)``.

    width, height: image size in pixels (the scene camera's must match); spp: samples per pixel; max_depth: path
    length (Mitsuba's: 1 = emitters only, 2 = direct light, 8 = seven bounces); denoise: ``none`` | ``oidn`` |
    ``nlmeans``; variant: ``llvm_ad_rgb`` | ``scalar_rgb`` | None (fastest usable); threads: render threads (None:
    the CPUs this process may run on); rfilter: film reconstruction filter (``box`` keeps edges pixel-aligned with
    the raster id pass). ``show_envmap``: let Mitsuba draw the environment emitter itself where camera rays
    escape (for checking its mapping) instead of compositing the background.

    Determinism: the same scene and seed give the same bytes, whatever was rendered before (Mitsuba's sampler is
    seeded with ``seed``; measured for the box and gaussian filters, 1 and 2 threads, and ``oidn`` with a fixed
    thread count). Mitsuba's variant and Dr.Jit's thread pool are process-wide: one variant per process.
    """

    def __init__(self, width: int, height: int, spp: int = 64, max_depth: int = 8, denoise: str = "none",
                 variant: Optional[str] = None, threads: Optional[int] = None, rfilter: str = "box",
                 show_envmap: bool = False, max_panoramas: int = 4) -> None:
        if not (1 <= int(width) <= MAX_SIZE and 1 <= int(height) <= MAX_SIZE):
            raise ConfigError(f"path-traced image size {width}x{height} is outside 1..{MAX_SIZE}; set render.width/"
                              f"height")
        if not 1 <= int(spp) <= MAX_SPP:
            raise ConfigError(f"render spp={spp} is outside 1..{MAX_SPP}; 16-64 with denoise=oidn is typical")
        if not 1 <= int(max_depth) <= MAX_DEPTH:
            raise ConfigError(f"render max_depth={max_depth} is outside 1..{MAX_DEPTH}; 8 is typical")
        if threads is not None and not 1 <= int(threads) <= 1024:
            raise ConfigError(f"render threads={threads} is outside 1..1024; leave it unset to use every CPU")
        if rfilter not in _RFILTERS:
            raise ConfigError(f"render rfilter={rfilter!r} is unknown; use one of {list(_RFILTERS)}")
        self.width, self.height = int(width), int(height)
        self.spp, self.max_depth = int(spp), int(max_depth)
        self.denoise = check_denoiser(denoise)
        self.threads = int(threads) if threads is not None else _cpu_count()
        self.rfilter = rfilter
        self.show_envmap = bool(show_envmap)
        self.max_panoramas = max(1, int(max_panoramas))
        self.variant = select_variant(variant)
        self._mi = import_mitsuba()
        import drjit as dr

        self._dr = dr
        dr.set_thread_count(self.threads)
        self._scalar = self.variant.startswith("scalar")
        if self._scalar:
            self._fbuf, self._ubuf = dr.scalar.ArrayXf, dr.scalar.ArrayXu
        else:
            self._fbuf, self._ubuf = self._mi.Float, self._mi.UInt32
        self._assets: dict[str, _Asset] = {}
        self._slots: list[_Slot] = []
        self._lights: dict[str, int] = {k: 0 for k in _LIGHT_KINDS}
        self._light_state: dict[str, list] = {}
        self._clip: tuple[float, float] = (0.01, 100.0)
        self._scene = None
        self._params = None
        self._keys: dict[tuple[str, str], str] = {}
        self._env_state: Optional[tuple] = None
        self._panoramas: dict[str, tuple[np.ndarray, object]] = {}  # path -> (hdr, Mitsuba envmap data)
        self._denoiser = None
        self._aovs = self.denoise in NEEDS_AOVS
        self._aov_integrator = None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "MitsubaColourRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._scene = None
        self._params = None
        self._aov_integrator = None
        self._panoramas.clear()
        if self._denoiser is not None:
            self._denoiser.close()
            self._denoiser = None

    # ------------------------------------------------------------------ set-up
    def prepare(self, catalog) -> None:
        """Check and convert every mesh and texture of ``catalog`` (:class:`simgen.scene.catalog.AssetCatalog`)
        once; raises AssetError naming the asset for unusable data (no UVs for a texture, bad shapes, NaNs)."""
        self._assets = {key: _check_mesh(key, m) for key, m in catalog.meshes.items()}
        self._scene = None

    def _need(self, scene) -> tuple[int, dict[str, int], tuple[float, float]]:
        n = 0
        for key in [k for k, _ in scene.environment] + [o.asset_key for o in scene.objects]:
            if key not in self._assets:
                raise RenderError(f"scene uses asset {key!r}, which was not in the catalog given to prepare(); "
                                  f"prepare with the catalog the scene was sampled from")
            n += 1
        lights: dict[str, int] = {k: 0 for k in _LIGHT_KINDS}
        for L in scene.lights:
            if L.kind not in lights:
                raise RenderError(f"unknown light kind {L.kind!r}; use one of {list(_LIGHT_KINDS)}")
            lights[L.kind] += 1
        c = scene.camera
        return n, lights, (float(c.znear), float(c.zfar))

    def _ensure_scene(self, scene) -> None:
        if not self._assets:
            raise RenderError("MitsubaColourRenderer.render called before prepare(catalog)")
        n, lights, clip = self._need(scene)
        if n > MAX_SLOTS or max(lights.values()) > MAX_SLOTS:
            raise RenderError(f"scene has {n} meshes / {lights} lights; at most {MAX_SLOTS} of each")
        grow = n > len(self._slots) or clip != self._clip
        for kind, k in lights.items():
            grow |= k > self._lights[kind]
            self._lights[kind] = max(self._lights[kind], k)
        if grow or self._scene is None:
            self._slots = [_Slot(f"slot{i}") for i in range(max(n, len(self._slots)))]
            self._clip = clip
            self._build()

    def _mesh(self, slot: _Slot):
        """A hidden slot mesh (one degenerate triangle far below the table) with its own material."""
        mi = self._mi
        bsdf = {"type": "principled", "metallic": 0.0, "roughness": 0.5, "specular": 0.5,
                "base_color": {"type": "bitmap", "bitmap": mi.Bitmap(np.full((2, 2, 3), 255, np.uint8)),
                               "filter_type": "bilinear", "wrap_mode": "repeat"}}
        props = mi.Properties()
        props["bsdf"] = mi.load_dict({"type": "twosided", "material": bsdf})
        mesh = mi.Mesh(slot.name, 3, 1, props=props, has_vertex_normals=True, has_vertex_texcoords=True)
        p = mi.traverse(mesh)
        for k, v in self._hidden_buffers().items():
            p[k] = v
        p.update()
        slot.key, slot.pose, slot.material = None, None, None
        return mesh

    def _hidden_buffers(self, at: np.ndarray = _HIDDEN_AT) -> dict:
        return {"vertex_positions": self._fbuf(np.tile(np.asarray(at, np.float32), 3)),
                "vertex_normals": self._fbuf(np.tile(np.float32([0, 0, 1]), 3)),
                "vertex_texcoords": self._fbuf(np.zeros(6, np.float32)),
                "faces": self._ubuf(np.array([0, 1, 2], np.uint32))}

    def _build(self) -> None:
        """(Re)build the Mitsuba scene for the current pool sizes; every slot starts hidden."""
        import time

        mi = self._mi
        t0 = time.perf_counter()
        d: dict = {
            "type": "scene",
            "integrator": {"type": "path", "max_depth": self.max_depth, "hide_emitters": not self.show_envmap},
            "sensor": {"type": "perspective", "fov": 45.0, "fov_axis": "x",
                       "near_clip": self._clip[0], "far_clip": self._clip[1],
                       "film": {"type": "hdrfilm", "width": self.width, "height": self.height,
                                "pixel_format": "rgba", "component_format": "float32",
                                "rfilter": {"type": self.rfilter}},
                       "sampler": {"type": "independent", "sample_count": self.spp}},
            "environment": {"type": "envmap", "bitmap": mi.Bitmap(np.full((4, 8, 3), 1e-6, np.float32)),
                            "scale": 1.0},
        }
        for kind, n in self._lights.items():
            for i in range(n):
                name = f"light_{kind}_{i}"
                if kind == "directional":
                    d[name] = {"type": "directional", "direction": [0, 0, -1], "irradiance": {"type": "rgb",
                               "value": 0.0}, "sampling_weight": 0.0}
                elif kind == "point":
                    d[name] = {"type": "point", "position": [0, 0, 1], "intensity": {"type": "rgb", "value": 0.0},
                               "sampling_weight": 0.0}
                else:
                    d[name] = {"type": "spot", "intensity": {"type": "rgb", "value": 0.0}, "cutoff_angle": 45.0,
                               "beam_width": 30.0, "sampling_weight": 0.0}
        for slot in self._slots:
            d[slot.name] = self._mesh(slot)
        try:
            self._scene = mi.load_dict(d)
        except RuntimeError as exc:
            raise RenderError(f"Mitsuba could not build the scene ({str(exc).splitlines()[0][:160]}); check the "
                              f"catalog's meshes") from None
        self._params = mi.traverse(self._scene)
        self._keys = {}
        for k in self._params.keys():
            for field in ("base_color.data", "metallic.value", "roughness.value"):
                if k.endswith("." + field):
                    self._keys[(k.split(".")[0], field)] = k
        self._env_state = None
        self._light_state = {}
        self.timings["build_s"] = time.perf_counter() - t0
        log.info("mitsuba scene built: %d mesh slots, lights %s (%.2f s)", len(self._slots), self._lights,
                 self.timings["build_s"])

    # ------------------------------------------------------------------ per sample
    def _set(self, key: str, value) -> None:
        if self._scalar and hasattr(value, "__len__"):
            cur = self._params[key]
            if hasattr(cur, "__len__") and len(cur) != len(value):
                # scalar variant: SceneParameters' "unchanged value" check compares element-wise and raises on a
                # size change (new vertex/face count); set the buffer the way __setitem__ does after that check
                ref, value_type, _, _ = self._params.properties[key]
                self._params.set_dirty(key)
                if value_type is None:
                    self._params.set_property(ref, value)
                else:
                    self._params.set_property(ref, value_type, value)
                return
        self._params[key] = value

    def _set_objects(self, scene) -> None:
        items = [(key, np.asarray(T, np.float64), 1.0, None) for key, T in scene.environment]
        items += [(o.asset_key, np.asarray(o.T_world_obj, np.float64), float(o.scale), o) for o in scene.objects]
        for slot, (key, T, scale, obj) in zip(self._slots, items, strict=False):  # slots >= items
            if T.shape != (4, 4) or not np.isfinite(T).all() or not np.isfinite(scale) or scale <= 0:
                raise RenderError(f"pose of {key!r} is not a finite (4, 4) transform with a positive scale")
            a = self._assets[key]
            pose = (T.tobytes(), scale)
            if slot.key != key or slot.pose != pose:
                R = T[:3, :3]
                v = (a.vertices.astype(np.float64) @ (R * scale).T + T[:3, 3]).astype(np.float32)
                n = (a.normals.astype(np.float64) @ R.T).astype(np.float32)  # (s R)^-T ~ R for uniform s > 0
                self._set(f"{slot.name}.vertex_positions", self._fbuf(v.ravel()))
                self._set(f"{slot.name}.vertex_normals", self._fbuf(n.ravel()))
                slot.bounds = np.stack([v.min(0), v.max(0)])
                if slot.key != key:
                    self._set(f"{slot.name}.vertex_texcoords", self._fbuf(a.uv))
                    self._set(f"{slot.name}.faces", self._ubuf(a.faces))
                    slot.material = None
                slot.key, slot.pose = key, pose
            # material: base colour x colour factor, clipped like pyrender; unset overrides -> the asset's own
            cf = np.ones(3) if obj is None or obj.color_factor is None else np.asarray(obj.color_factor, np.float64)[:3]
            factor = np.clip(a.base_color * cf, 0.0, 1.0)
            metallic = a.metallic if obj is None or obj.metallic is None else float(obj.metallic)
            rough = a.roughness if obj is None or obj.roughness is None else float(obj.roughness)
            metallic = float(np.clip(metallic, 0.0, 1.0))
            rough = float(np.clip(rough, MIN_ROUGHNESS, 1.0))
            mat = (factor.astype(np.float32).tobytes(), metallic, rough)
            if slot.material != mat:
                data = a.texture
                if not np.all(factor == 1.0):
                    lut = _factor_lut(factor)
                    data = np.stack([lut[a.texture[..., c], c] for c in range(3)], -1)
                key_tex = self._keys[(slot.name, "base_color.data")]
                self._set(key_tex, type(self._params[key_tex])(np.ascontiguousarray(data)))
                self._set(self._keys[(slot.name, "metallic.value")], metallic)
                self._set(self._keys[(slot.name, "roughness.value")], rough)
                slot.material = mat
        # unused slots: one degenerate (never hit) triangle at the centre of the visible geometry, so that they
        # do not change the scene's bounding sphere (the emitters' shadow-ray length depends on it)
        used = self._slots[:len(items)]
        at = (np.mean([np.min([s.bounds[0] for s in used], 0), np.max([s.bounds[1] for s in used], 0)], 0)
              if used else np.zeros(3))
        at = at.astype(np.float32)
        for slot in self._slots[len(items):]:
            if slot.key is not None or slot.pose != at.tobytes():
                for k, v in self._hidden_buffers(at).items():
                    self._set(f"{slot.name}.{k}", v)
                slot.key, slot.pose, slot.material, slot.bounds = None, at.tobytes(), None, None

    def _transform(self, T: np.ndarray):
        return self._mi.ScalarTransform4f(np.asarray(T, np.float64).tolist())

    def _set_camera(self, camera) -> None:
        if (int(camera.width), int(camera.height)) != (self.width, self.height):
            raise RenderError(f"camera is {camera.width}x{camera.height} but the path tracer renders "
                              f"{self.width}x{self.height}; create the renderer at the camera's size")
        s = convert.sensor_params(camera)
        self._set("sensor.x_fov", s["x_fov"])
        self._set("sensor.principal_point_offset_x", s["principal_point_offset_x"])
        self._set("sensor.principal_point_offset_y", s["principal_point_offset_y"])
        self._set("sensor.to_world", self._transform(s["to_world"]))

    def _set_lights(self, scene) -> None:
        mi = self._mi
        idx = {k: 0 for k in _LIGHT_KINDS}
        for L in scene.lights:
            i = idx[L.kind]
            idx[L.kind] += 1
            name = f"light_{L.kind}_{i}"
            color = np.asarray(L.color, np.float64)[:3] * float(L.intensity)
            if not np.isfinite(color).all() or (color < 0).any():
                raise RenderError(f"light {name} has a negative or non-finite colour x intensity {color.tolist()}")
            T = np.asarray(L.T_world_light, np.float64)
            state = (L.kind, color.tobytes(), T.tobytes(), float(L.inner_cone), float(L.outer_cone))
            if self._light_state.get(name) == state:
                continue
            self._light_state[name] = state
            rgb = mi.Color3f(*color.tolist())
            self._set(f"{name}.sampling_weight", 1.0)
            if L.kind == "directional":
                self._set(f"{name}.irradiance.value", rgb)
                self._set(f"{name}.to_world", self._transform(convert.emitter_to_world(T)))
            elif L.kind == "point":
                self._set(f"{name}.intensity.value", rgb)
                self._set(f"{name}.position", mi.Point3f(*T[:3, 3].tolist()))
            else:
                outer = float(np.degrees(np.clip(L.outer_cone, 1e-3, np.pi / 2)))
                inner = float(np.degrees(np.clip(L.inner_cone, 0.0, np.radians(outer))))
                self._set(f"{name}.intensity.value", rgb)
                self._set(f"{name}.to_world", self._transform(convert.emitter_to_world(T)))
                self._set(f"{name}.cutoff_angle", outer)
                self._set(f"{name}.beam_width", inner)
        for kind, n in self._lights.items():
            for i in range(idx[kind], n):
                name = f"light_{kind}_{i}"
                if self._light_state.get(name, "on") is None:
                    continue
                self._light_state[name] = None
                self._set(f"{name}.sampling_weight", 0.0)
                field = "irradiance" if kind == "directional" else "intensity"
                self._set(f"{name}.{field}.value", mi.Color3f(0.0, 0.0, 0.0))

    def _panorama(self, path: str):
        """(hdr (H, W, 3) float32, Mitsuba envmap data tensor) for a panorama file, cached (at most
        ``max_panoramas``)."""
        hit = self._panoramas.get(path)
        if hit is not None:
            return hit
        mi = self._mi
        hdr = convert.load_hdr(path)
        env = mi.load_dict({"type": "envmap", "bitmap": mi.Bitmap(hdr)})
        data = mi.traverse(env)["data"]
        while len(self._panoramas) >= self.max_panoramas:
            self._panoramas.pop(next(iter(self._panoramas)))
        self._panoramas[path] = (hdr, data)
        return hdr, data

    def _set_environment(self, scene) -> Optional[tuple[np.ndarray, float, float]]:
        """Environment emitter for this sample; returns (hdr, rotation, exposure) when a panorama is used."""
        mi = self._mi
        env = getattr(scene, "envmap", None)
        if env is not None:
            path = str(Path(env.path))
            rotation, exposure = float(env.rotation), float(env.exposure)
            if not (np.isfinite(rotation) and np.isfinite(exposure) and exposure >= 0):
                raise RenderError(f"envmap rotation {rotation} / exposure {exposure} must be finite, exposure >= 0")
            hdr, data = self._panorama(path)
            state = ("pano", path, rotation, exposure)
            if self._env_state != state:
                if self._env_state is None or self._env_state[:2] != state[:2]:
                    self._set("environment.data", data)
                self._set("environment.scale", exposure)
                self._set("environment.to_world", self._transform(convert.envmap_to_world(rotation)))
                self._set("environment.sampling_weight", 1.0 if exposure > 0 else 0.0)
                self._env_state = state
            return hdr, rotation, exposure
        amb = np.clip(np.nan_to_num(np.asarray(scene.ambient, np.float64)[:3]), 0.0, None)
        state = ("ambient", amb.tobytes())
        if self._env_state != state:
            # a tiny uniform map; never exactly zero (an all-zero map has no sampling distribution)
            const = np.broadcast_to(np.maximum(amb, 1e-6).astype(np.float32), (4, 8, 3))
            data = mi.traverse(mi.load_dict({"type": "envmap", "bitmap": mi.Bitmap(np.ascontiguousarray(const))})
                               )["data"]
            self._set("environment.data", data)
            self._set("environment.scale", 1.0)
            self._set("environment.to_world", self._transform(np.eye(4)))
            self._set("environment.sampling_weight", 1.0 if amb.max() > 0 else 0.0)
            self._env_state = state
        return None

    def render_layers(self, scene, seed: int) -> dict[str, np.ndarray]:
        """Path-trace ``scene`` (:class:`simgen.scene.model.Scene`) with sampler seed ``seed``.

        Returns linear float32 layers: ``rgb`` (H, W, 3) radiance of the geometry (0 where rays escape), ``alpha``
        (H, W) coverage, ``background`` (H, W, 3) the composited background radiance, and with the oidn denoiser
        ``albedo`` / ``normal`` (H, W, 3)."""
        import time

        mi = self._mi
        seed = int(seed)
        if not 0 <= seed < 2 ** 32:
            raise RenderError(f"seed {seed} is outside 0..2^32-1; pass int(rng.integers(2**32))")
        if mi.variant() != self.variant:
            mi.set_variant(self.variant)
        t0 = time.perf_counter()
        self._ensure_scene(scene)
        self._set_objects(scene)
        self._set_camera(scene.camera)
        self._set_lights(scene)
        pano = self._set_environment(scene)
        self._params.update()
        # Mitsuba 3.9 hands emitters the scene's bounding sphere from before this update (measured: the first
        # render after moving geometry used the previous scene's sphere, changing shadow-ray lengths and a few
        # pixels); give it the current one so the image depends on this scene only
        for emitter in self._scene.emitters():
            emitter.set_scene(self._scene)
        t1 = time.perf_counter()
        img = np.asarray(mi.render(self._scene, seed=seed, spp=self.spp), dtype=np.float32)
        t2 = time.perf_counter()
        out = {"rgb": img[..., :3], "alpha": np.clip(img[..., 3], 0.0, 1.0)}
        if self._aovs:
            # the denoiser's guides in a separate first-hit pass: nesting the path tracer in Mitsuba's aov
            # integrator doubled the cost of every sample (measured), AUX_SPP samples are enough for the guides
            if self._aov_integrator is None:
                self._aov_integrator = mi.load_dict({"type": "aov", "aovs": "albedo:albedo,nn:sh_normal"})
            aux = np.asarray(mi.render(self._scene, integrator=self._aov_integrator, seed=seed, spp=AUX_SPP),
                             dtype=np.float32)
            out["albedo"], out["normal"] = aux[..., :3], aux[..., 3:6]
            self.timings["aux_s"] = time.perf_counter() - t2
        if pano is not None:
            hdr, rotation, exposure = pano
            out["background"] = convert.envmap_background(hdr, scene.camera, rotation, exposure)
        else:
            bg = convert.display_to_linear(np.asarray(scene.bg_color, np.float64)[:3])
            out["background"] = np.broadcast_to(bg, img.shape[:2] + (3,)).astype(np.float32)
        self.timings.update(update_s=t1 - t0, render_s=t2 - t1)
        return out

    def render(self, scene, seed: int) -> np.ndarray:
        """Path-traced colour of ``scene`` -> (H, W, 3) uint8, the raster path's display transform
        (gamma 2.2, clip, round). Same scene + seed -> same bytes."""
        import time

        layers = self.render_layers(scene, seed)
        t0 = time.perf_counter()
        if self.show_envmap and getattr(scene, "envmap", None) is not None:
            lin = layers["rgb"]  # Mitsuba drew the environment itself
        else:
            lin = layers["rgb"] + (1.0 - layers["alpha"])[..., None] * layers["background"]
        if self.denoise == "oidn":
            if self._denoiser is None:
                self._denoiser = OidnDenoiser(self.threads)
            bg_albedo = np.clip(layers["background"], 0.0, 1.0)
            albedo = layers["albedo"] + (1.0 - layers["alpha"])[..., None] * bg_albedo
            lin = self._denoiser(lin, albedo, layers["normal"])
        rgb = convert.display_transform(lin)
        if self.denoise == "nlmeans":
            rgb = nlmeans(rgb)
        self.timings["post_s"] = time.perf_counter() - t0
        return rgb

    @classmethod
    def from_settings(cls, width: int, height: int, s: PathTraceSettings) -> "MitsubaColourRenderer":
        return cls(width, height, spp=s.spp, max_depth=s.max_depth, denoise=s.denoise, variant=s.variant,
                   threads=s.threads, rfilter=s.rfilter)
