"""pyrender (OpenGL) renderer: RGB, depth and instance ids, headless over EGL or OSMesa.

One renderer per worker process. Meshes and textures are uploaded once (:meth:`PyrenderRenderer.prepare`) and
reused: every object kind gets a pool of nodes (one per possible instance), unused ones are hidden, so no GL
buffer is created or freed per sample.

Per sample: one colour pass (PBR shading, optionally 4x MSAA), one id pass (single-sample, flat colours, the
environment drawn in id 0 so the id map shows exactly what the colour image shows) and, for exact visibility and
truncation, silhouette passes in which up to 24 objects are drawn at once, each into its own bit of the colour
buffer (logical OR, depth test against the cleared buffer only: every object's coverage is the one it has when
rendered alone). Closed meshes (watertight, consistently wound outwards) are drawn with back faces culled, which
halves the fragment work of a software rasteriser and leaves coverage unchanged.
"""

from __future__ import annotations

import logging
from typing import Optional, Sequence

import numpy as np

from simgen.core.ao import ambient_occlusion, apply_ao
from simgen.core.frame import Frame, decode_ids, encode_ids
from simgen.errors import ConfigError, RenderError
from simgen.renderers.pyrender import patches
from simgen.renderers.pyrender.config import PLATFORMS, PyrenderConfig
from simgen.renderers.pyrender.gl import platform_fix, probe, select_platform
from simgen.scene.catalog import AssetCatalog, MeshData
from simgen.scene.model import Camera, Scene, cv_to_gl

log = logging.getLogger(__name__)


def cpu_model() -> str:
    """The host CPU's model name (Linux /proc/cpuinfo; else platform.processor()), '' when unknown."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()[:120]
    except OSError:
        pass
    return platform.processor()[:120]


class _BitPass:
    """GL state of a silhouette pass: colours ORed into the buffer (one bit per object), depth tested against the
    cleared buffer only (no depth writes), so every object's coverage is exactly its coverage rendered alone."""

    def __init__(self, renderer) -> None:
        self.r = renderer

    def __enter__(self):
        self.r._simgen_bitpass = True
        return self

    def __exit__(self, *exc):
        from OpenGL import GL

        self.r._simgen_bitpass = False
        GL.glDisable(GL.GL_COLOR_LOGIC_OP)
        GL.glDepthMask(GL.GL_TRUE)


def _bit_colour(k: int) -> tuple[int, int, int]:
    """Id-pass colour with only bit ``k`` (0..23) set: byte k // 8 of (R, G, B) = 1 << (k % 8)."""
    c = [0, 0, 0]
    c[k // 8] = 1 << (k % 8)
    return c[0], c[1], c[2]


_BITS_PER_PASS = 24
# _BIT_TABLE[v, b]: bit b of byte value v
_BIT_TABLE = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.int64)


def bit_counts(bits_rgb: np.ndarray, n: int) -> np.ndarray:
    """Pixels per bit of an OR-pass image: bits_rgb (H, W, 3) uint8 -> (n,) int64, entry k = pixels with bit k
    (bit k lives in channel k // 8, bit k % 8). One 256-bin histogram per channel instead of n full-image masks."""
    out = np.zeros(24, np.int64)
    for ch in range(min(3, (n + 7) // 8)):
        hist = np.bincount(bits_rgb[..., ch].ravel(), minlength=256)
        out[8 * ch:8 * ch + 8] = hist @ _BIT_TABLE
    return out[:n]


def is_closed(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """True when a mesh bounds a volume with outward faces (watertight, consistently wound, positive volume),
    i.e. its back faces can never be seen from outside: culling them changes no pixel's coverage.

    vertices: (V, 3) float; faces: (F, 3) int. Vertices split for flat shading or UV seams are merged first.
    """
    import trimesh

    try:
        tm = trimesh.Trimesh(vertices=np.asarray(vertices, np.float64), faces=np.asarray(faces), process=True)
        return bool(tm.is_watertight and tm.is_winding_consistent and tm.volume > 0)
    except (ValueError, IndexError, FloatingPointError):  # degenerate input: keep both sides
        return False


def _switch(value: str, env_lit: bool) -> bool:
    """An on/off/auto setting: auto = on for environment-lit samples."""
    return value == "on" or (value == "auto" and env_lit)


def _scaled(T: np.ndarray, s: float) -> np.ndarray:
    M = np.array(T, dtype=np.float64, copy=True)
    M[:3, :3] *= s
    return M


class PyrenderRenderer:
    """``with PyrenderRenderer(w, h) as r: r.prepare(catalog, pool_sizes, env_counts); frame = r.render(scene)``.

    Implements :class:`simgen.renderers.base.Renderer`; ``render.backend=pyrender``, keys ``render.pyrender.*``."""

    Config = PyrenderConfig

    @classmethod
    def check_config(cls, render_cfg) -> None:
        """ConfigError for a bad ``render.pyrender`` value (before anything is written)."""
        cfg: PyrenderConfig = render_cfg.pyrender
        if cfg.platform not in PLATFORMS:
            raise ConfigError(f"unknown render.pyrender.platform {cfg.platform!r}; use one of {', '.join(PLATFORMS)}")

    @classmethod
    def probe(cls, render_cfg) -> dict:
        """Make and free a tiny context: RenderError with the fix if the platform is unusable; returns limits
        ({"max_size": largest renderbuffer side})."""
        patches.check_version()
        return probe(render_cfg.pyrender.platform)

    @staticmethod
    def worker_env(threads: int) -> dict[str, str]:
        """Environment for a worker process that may use ``threads`` cores: llvmpipe starts one raster thread per
        core in every process unless told otherwise (a user's LP_NUM_THREADS wins)."""
        return {"LP_NUM_THREADS": str(max(1, int(threads)))}

    @classmethod
    def from_config(cls, render_cfg, width: int, height: int) -> "PyrenderRenderer":
        """From the ``render`` config (its ``pyrender`` keys)."""
        cfg: PyrenderConfig = render_cfg.pyrender
        r = cls(width, height, cfg.platform, cfg.msaa)
        r.shadows, r.shadow_softness = cfg.shadows, float(cfg.shadow_softness)
        r.ao, r.ao_strength, r.ao_radius = cfg.ao, float(cfg.ao_strength), float(cfg.ao_radius)
        return r

    def __init__(self, width: int, height: int, platform: str = "egl", msaa: bool = True, cull: bool = True,
                 static_lights: bool = True, fast_pass: bool = True) -> None:
        self.width, self.height, self.platform = int(width), int(height), platform
        self.static_lights = bool(static_lights)
        self.fast_pass = bool(fast_pass)
        self.msaa = bool(msaa)
        self.cull = bool(cull)
        self._env_used: list = []
        self._closed: dict = {}  # node -> closed mesh (back faces culled)
        self._r = None
        self._pyr = None
        self._scene = None
        self._pools: dict[str, list] = {}
        self._env_nodes: list = []
        self._light_nodes: list = []
        self._cam_node = None
        self._base_colors: dict[int, np.ndarray] = {}
        self._base_mr: dict[int, tuple[float, float]] = {}
        self.id_nodes: dict[int, object] = {}  # instance id -> node, of the last rendered scene
        # realism switches (render.pyrender.*): "auto" = on for samples lit by an environment (scene.ambient_sh)
        self.shadows, self.shadow_softness = "off", 2.5
        self.ao, self.ao_strength, self.ao_radius = "off", 1.0, 0.04
        self.gl_info: dict[str, str] = {}

    @property
    def info(self) -> dict[str, str]:
        return dict(self.gl_info)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "PyrenderRenderer":
        select_platform(self.platform)
        patches.check_version()
        try:
            import pyrender  # import after platform selection

            self._pyr = pyrender
            self._r = pyrender.OffscreenRenderer(self.width, self.height)
        except Exception as exc:  # missing libEGL / libOSMesa, no device, ... (many exception types)
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RenderError(f"no working OpenGL platform ({self.platform}: {msg[:160]}); "
                              f"{platform_fix(self.platform)}") from None
        patches.numpy_compat()
        patches.install(self._r._renderer, self.msaa, lambda: self._scene, fast_pass=self.fast_pass,
                        static_lights=self.static_lights)
        from OpenGL import GL

        self.gl_info = {k: GL.glGetString(v).decode(errors="replace") for k, v in
                        (("vendor", GL.GL_VENDOR), ("renderer", GL.GL_RENDERER), ("version", GL.GL_VERSION))}
        # a software GL (llvmpipe) compiles its shaders for the host CPU, and its pixels' last bits follow the
        # CPU model, which the renderer string does not name: recorded so two runs' bytes can be compared
        self.gl_info["cpu"] = cpu_model()
        log.debug("GL: %s", self.gl_info)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._r is not None:
            r, self._r = self._r, None
            try:
                r.delete()
            except Exception as exc:  # a context already gone (process exit) must not hide the real error
                log.debug("closing the GL context failed: %s", exc)

    # ------------------------------------------------------------------ set-up
    def _make_mesh(self, m: MeshData, texture, closed: bool = False):
        pyr = self._pyr
        # closed meshes: back faces culled (never visible; same coverage, half the fragments)
        mat = pyr.MetallicRoughnessMaterial(baseColorFactor=m.base_color.tolist(), metallicFactor=m.metallic,
                                            roughnessFactor=m.roughness, baseColorTexture=texture,
                                            doubleSided=not closed)
        prim = pyr.Primitive(positions=m.vertices, normals=m.normals, indices=m.faces,
                             texcoord_0=m.uv if texture is not None else None, material=mat)
        return pyr.Mesh(primitives=[prim], is_visible=False)

    def prepare(self, catalog: AssetCatalog, pool_sizes: dict[str, int], env_counts: dict[str, int]) -> None:
        """Upload every mesh once: ``pool_sizes[key]`` instances of each object kind, ``env_counts`` of the rest."""
        pyr = self._pyr
        self._scene = pyr.Scene(bg_color=[0, 0, 0, 1], ambient_light=[0.3, 0.3, 0.3])
        patches.ordered_node_sets(self._scene)
        textures = {}
        for key, m in catalog.meshes.items():
            if m.texture is not None:
                textures[key] = pyr.Texture(source=m.texture, source_channels="RGB",
                                            sampler=pyr.Sampler(magFilter=9729, minFilter=9987,
                                                                wrapS=10497, wrapT=10497))
        far = np.eye(4)
        for key, n in list(pool_sizes.items()) + list(env_counts.items()):
            m = catalog[key]
            closed = self.cull and is_closed(m.vertices, m.faces)
            pool = []
            for _ in range(n):
                mesh = self._make_mesh(m, textures.get(key), closed)
                node = self._scene.add(mesh, pose=far)
                self._closed[node] = closed
                pool.append(node)
            self._pools[key] = pool
        cam = pyr.IntrinsicsCamera(fx=500, fy=500, cx=self.width / 2, cy=self.height / 2, znear=0.05, zfar=20)
        self._cam_node = self._scene.add(cam, pose=np.eye(4))

    # ------------------------------------------------------------------ per sample
    def _set_scene(self, scene: Scene) -> dict:
        """Pose nodes for this scene; returns {instance_id: node}."""
        pyr = self._pyr
        sc = self._scene
        used: dict[str, int] = {}
        id_nodes = {}
        for key, pool in self._pools.items():
            for node in pool:
                node.mesh.is_visible = False
        self._env_used = []
        for key, T in scene.environment:
            i = used.get(key, 0)
            node = self._pools[key][i]
            used[key] = i + 1
            node.mesh.is_visible = True
            self._pose(node, np.asarray(T, np.float64))
            self._env_used.append(node)
        self._r._renderer._simgen_env = frozenset(self._env_used)  # drawn after the objects (see draw order)
        for obj in scene.objects:
            pool = self._pools.get(obj.asset_key)
            i = used.get(obj.asset_key, 0)
            if pool is None or i >= len(pool):
                raise RenderError(f"more instances of {obj.asset_key} than prepared ({i + 1}); "
                                  f"raise its pool size")
            node = pool[i]
            used[obj.asset_key] = i + 1
            node.mesh.is_visible = True
            mat = node.mesh.primitives[0].material
            base = self._base_colors.setdefault(id(mat), np.array(mat.baseColorFactor, np.float64))
            base_mr = self._base_mr.setdefault(id(mat), (float(mat.metallicFactor), float(mat.roughnessFactor)))
            cf = obj.color_factor if obj.color_factor is not None else np.ones(4)
            mat.baseColorFactor = np.clip(base * np.asarray(cf, np.float64), 0, 1)
            # unset overrides fall back to the asset's own values (never to the previous sample's)
            mat.metallicFactor = float(obj.metallic) if obj.metallic is not None else base_mr[0]
            mat.roughnessFactor = float(obj.roughness) if obj.roughness is not None else base_mr[1]
            self._pose(node, _scaled(obj.T_world_obj, obj.scale))
            id_nodes[obj.instance_id] = node
        # camera
        c = scene.camera
        self._check_size(c)
        cam = self._cam_node.camera
        cam.fx, cam.fy, cam.cx, cam.cy, cam.znear, cam.zfar = c.fx, c.fy, c.cx, c.cy, c.znear, c.zfar
        sc.set_pose(self._cam_node, cv_to_gl(c.T_world_cam))
        # lights: replaced per sample (cheap: no GL objects without shadows)
        for ln in self._light_nodes:
            sc.remove_node(ln)
        self._light_nodes = []
        for L in scene.lights:
            if L.kind == "directional":
                light = pyr.DirectionalLight(color=L.color, intensity=L.intensity)
            elif L.kind == "point":
                light = pyr.PointLight(color=L.color, intensity=L.intensity)
            elif L.kind == "spot":
                light = pyr.SpotLight(color=L.color, intensity=L.intensity, innerConeAngle=L.inner_cone,
                                      outerConeAngle=L.outer_cone)
            else:
                raise RenderError(f"unknown light kind {L.kind!r}")
            self._light_nodes.append(sc.add(light, pose=L.T_world_light))
        sc.ambient_light = np.asarray(scene.ambient, np.float64)
        sc.bg_color = np.concatenate([np.asarray(scene.bg_color, np.float64), [1.0]])
        sc._simgen_sh = None if scene.ambient_sh is None else np.asarray(scene.ambient_sh, np.float64).reshape(9, 3)
        sc._simgen_shadow_spread = self.shadow_softness
        return id_nodes

    def _pose(self, node, T: np.ndarray) -> None:
        """Place a node; a mirroring pose (det < 0) flips the winding, so such a node is drawn double-sided."""
        self._scene.set_pose(node, T)
        if self._closed.get(node, False):
            node.mesh.primitives[0].material.doubleSided = bool(np.linalg.det(T[:3, :3]) < 0)

    def _check_size(self, c: Camera) -> None:
        if (c.width, c.height) != (self.width, self.height):
            raise RenderError(f"camera is {c.width}x{c.height} but the renderer is {self.width}x{self.height}")

    def render(self, scene: Scene) -> Frame:
        """Colour + depth pass and an instance-id pass of one scene. ``self.id_nodes`` maps the scene's instance
        ids to their pyrender nodes until the next render.

        The id pass draws the environment (table, walls) in id 0, so object parts hidden by it (e.g. sunk a
        millimetre into the table) are not labelled as visible.
        """
        pyr = self._pyr
        id_nodes = self._set_scene(scene)
        env_lit = scene.ambient_sh is not None
        flags = pyr.RenderFlags.NONE
        if _switch(self.shadows, env_lit):
            flags |= pyr.RenderFlags.SHADOWS_DIRECTIONAL
        rgb, depth = self._r.render(self._scene, flags=flags)
        if _switch(self.ao, env_lit) and self.ao_strength > 0:
            vis = ambient_occlusion(depth.astype(np.float32), scene.camera, radius=self.ao_radius,
                                    strength=self.ao_strength)
            rgb = apply_ao(np.ascontiguousarray(rgb, dtype=np.uint8), vis)
        seg_map = {node: (0, 0, 0) for node in self._env_used}
        seg_map.update({node: encode_ids(iid) for iid, node in id_nodes.items()})
        seg, _ = self._r.render(self._scene, flags=pyr.RenderFlags.SEG, seg_node_map=seg_map)
        frame = Frame(rgb=np.ascontiguousarray(rgb, dtype=np.uint8), depth=depth.astype(np.float32),
                      instance_ids=decode_ids(seg))
        self.id_nodes = id_nodes
        return frame

    def amodal_areas(self, instance_ids: Sequence[int], camera: Optional[Camera] = None,
                     window: Optional[tuple[int, int, int, int]] = None) -> tuple[list[int], list[int]]:
        """:meth:`silhouette_areas` of the last rendered scene's objects, by instance id."""
        return self.silhouette_areas([self.id_nodes[i] for i in instance_ids], camera, window)

    def silhouette_bits(self, nodes: list, camera: Optional[Camera] = None) -> list[np.ndarray]:
        """Silhouettes of many objects, each as if rendered alone, in ceil(len(nodes) / 24) passes.

        Returns one (H, W, 3) uint8 image per pass: object ``nodes[24 * p + k]`` covers the pixels of image ``p``
        with bit k % 8 of channel k // 8 set (see :func:`bit_counts`). ``camera`` overrides the scene camera's
        intrinsics (same image size), e.g. a wider view for truncation.
        """
        pyr = self._pyr
        cam = self._cam_node.camera
        saved = (cam.fx, cam.fy, cam.cx, cam.cy)
        if camera is not None:
            cam.fx, cam.fy, cam.cx, cam.cy = camera.fx, camera.fy, camera.cx, camera.cy
        out = []
        try:
            for start in range(0, len(nodes), _BITS_PER_PASS):
                batch = nodes[start:start + _BITS_PER_PASS]
                seg_map = {node: _bit_colour(k) for k, node in enumerate(batch)}
                with _BitPass(self._r._renderer):
                    seg, _ = self._r.render(self._scene, flags=pyr.RenderFlags.SEG, seg_node_map=seg_map)
                out.append(seg)
        finally:
            cam.fx, cam.fy, cam.cx, cam.cy = saved
        return out

    def silhouette_areas(self, nodes: list, camera: Optional[Camera] = None,
                         window: Optional[tuple[int, int, int, int]] = None) -> tuple[list[int], list[int]]:
        """Pixel counts of each node's silhouette rendered alone: (total, inside ``window`` = (x0, y0, x1, y1),
        exclusive ends; equal to total without a window)."""
        totals: list[int] = []
        inside: list[int] = []
        for p, bits in enumerate(self.silhouette_bits(nodes, camera)):
            n = min(_BITS_PER_PASS, len(nodes) - p * _BITS_PER_PASS)
            t = bit_counts(bits, n)
            totals.extend(int(v) for v in t)
            if window is None:
                inside.extend(int(v) for v in t)
            else:
                x0, y0, x1, y1 = window
                inside.extend(int(v) for v in bit_counts(np.ascontiguousarray(bits[y0:y1, x0:x1]), n))
        return totals, inside

    def render_alone(self, node, camera: Optional[Camera] = None) -> np.ndarray:
        """Silhouette of one object with every other object removed: (H, W) bool.

        ``camera`` overrides the scene camera (same image size), e.g. a wider view for truncation.
        """
        pyr = self._pyr
        cam = self._cam_node.camera
        saved = (cam.fx, cam.fy, cam.cx, cam.cy)
        if camera is not None:
            cam.fx, cam.fy, cam.cx, cam.cy = camera.fx, camera.fy, camera.cx, camera.cy
        try:
            seg, _ = self._r.render(self._scene, flags=pyr.RenderFlags.SEG, seg_node_map={node: (255, 0, 0)})
        finally:
            cam.fx, cam.fy, cam.cx, cam.cy = saved
        return seg[..., 0] > 0
