"""Every change simgen makes to pyrender, in one place, for the one pyrender version it was checked against.

pyrender 0.1.45 is pinned (pyproject.toml); :func:`check_version` refuses another version, because these patches
replace private methods (``_configure_forward_pass_viewport``, ``_read_main_framebuffer``, ``_sorted_mesh_nodes``,
``_forward_pass``, ``_program_cache``) and the fast pass reads private fields. Each patch is checked by a test
against pyrender's own output (``tests/render/test_fast_pass.py``: bit-identical images, ids and labels).

- :func:`numpy_compat`: pyrender 0.1.45 uses ``np.infty`` (removed in numpy 2) in ``pyrender.mesh``; that module
  alone gets a numpy that has it (numpy itself is not changed).
- :func:`ordered_node_sets`: lights bound and meshes sorted in insertion order, not set order (determinism).
- :func:`install_fast_id_pass`: id/silhouette passes single-sample, colour-only readback; optional no-MSAA colour.
- :func:`sorted_visible_mesh_nodes`: draw order near to far over visible nodes, environment last.
- :func:`static_light_cache`: PBR programs compiled per light count (constant loop bounds).
- :func:`install`: all of the above plus the lean forward pass (:mod:`simgen.renderers.pyrender.fast_pass`).
"""

from __future__ import annotations

import os
import types

import numpy as np

from simgen.errors import RenderError
from simgen.renderers.pyrender.fast_pass import FastForwardPass
from simgen.scene.panorama import SH_IRRADIANCE_GLSL

PYRENDER_VERSION = "0.1.45"


def check_version() -> None:
    """RenderError unless the installed pyrender is the version these patches were made for."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("pyrender")
    except PackageNotFoundError:
        raise RenderError("pyrender is not installed; pip install pyrender==" + PYRENDER_VERSION) from None
    if found != PYRENDER_VERSION:
        raise RenderError(f"the pyrender backend is made for pyrender {PYRENDER_VERSION} (it patches its private "
                          f"methods), found {found}; pip install pyrender=={PYRENDER_VERSION}")


class _NumpyWithInfty(types.ModuleType):
    """numpy as seen by ``pyrender.mesh``: every attribute of numpy, plus ``infty`` (= inf)."""

    infty = np.inf

    def __getattr__(self, name):
        return getattr(np, name)


def numpy_compat() -> None:
    """Give ``pyrender.mesh`` a numpy with ``np.infty`` (numpy 2 removed it) without adding it to numpy."""
    import pyrender.mesh

    if not hasattr(np, "infty") and not isinstance(pyrender.mesh.np, _NumpyWithInfty):
        pyrender.mesh.np = _NumpyWithInfty("numpy")


def install(renderer, msaa: bool, get_scene, fast_pass: bool = True, static_lights: bool = True) -> None:
    """Apply simgen's patches to one ``pyrender.Renderer`` (``OffscreenRenderer._renderer``).

    ``get_scene()`` returns the pyrender Scene being rendered (the shader cache compiles per its light counts)."""
    install_fast_id_pass(renderer, msaa)
    install_sh_binding(renderer)
    if fast_pass:
        renderer._forward_pass = FastForwardPass(renderer)
    if static_lights:
        renderer._program_cache.clear()
        renderer._program_cache = static_light_cache(get_scene)


def install_fast_id_pass(renderer, msaa: bool = True) -> None:
    """Id (SEG) passes draw into pyrender's single-sample framebuffer and read back colour only.

    pyrender draws every pass into a 4x multisampled framebuffer, resolves it with a blit and reads colour and
    depth. An id pass needs neither multisampling (it is disabled for SEG anyway, so all 4 samples hold the same
    value) nor depth: skipping both cuts the fragment work and the readback of every id / silhouette pass, with
    bit-identical ids. With ``msaa=False`` the colour pass uses the single-sample framebuffer too (aliased edges,
    about half the fragment work on a software rasteriser).
    """
    import types

    from OpenGL import GL
    from pyrender.constants import RenderFlags

    orig_configure = renderer._configure_forward_pass_viewport
    orig_read = renderer._read_main_framebuffer

    def configure(self, flags):
        if flags & RenderFlags.OFFSCREEN and (flags & RenderFlags.SEG or not msaa):
            self._configure_main_framebuffer()
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
            GL.glViewport(0, 0, self.viewport_width, self.viewport_height)
            GL.glEnable(GL.GL_DEPTH_TEST)
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDepthFunc(GL.GL_LESS)
            GL.glDepthRange(0.0, 1.0)
            if flags & RenderFlags.SEG and getattr(self, "_simgen_bitpass", False):
                # pyrender clears after this call, but a masked depth buffer is not cleared: clear it here
                GL.glClearDepth(1.0)
                GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
                GL.glDepthMask(GL.GL_FALSE)
                GL.glEnable(GL.GL_COLOR_LOGIC_OP)
                GL.glLogicOp(GL.GL_OR)
            return
        orig_configure(flags)

    def read(self, scene, flags):
        if flags & RenderFlags.SEG:
            w, h = self._main_fb_dims[0], self._main_fb_dims[1]
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
            buf = GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
            color = np.frombuffer(buf, dtype=np.uint8).reshape((h, w, 3))
            return np.flip(color, axis=0), None
        if not msaa:
            w, h = self._main_fb_dims[0], self._main_fb_dims[1]
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
            dbuf = GL.glReadPixels(0, 0, w, h, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT)
            depth = np.flip(np.frombuffer(dbuf, dtype=np.float32).reshape((h, w)), axis=0)
            cam = scene.main_camera_node.camera
            depth = _linear_depth(depth, cam.znear, cam.zfar)
            buf = GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
            color = np.flip(np.frombuffer(buf, dtype=np.uint8).reshape((h, w, 3)), axis=0)
            return color, depth
        return orig_read(scene, flags)

    renderer._configure_forward_pass_viewport = types.MethodType(configure, renderer)
    renderer._read_main_framebuffer = types.MethodType(read, renderer)
    renderer._sorted_mesh_nodes = types.MethodType(sorted_visible_mesh_nodes, renderer)


_LOOP_BOUNDS = {"directional": "i < n_directional_lights", "point": "i < n_point_lights",
                "spot": "i < n_spot_lights"}


_AMBIENT_DECL = "uniform vec3 ambient_light;"
_AMBIENT_TERM = "color.xyz += base_color.xyz * ambient_light;"
_PCF_OFFSET = "vec2 off = vec2(x,y)/size;"


def with_sh_ambient(text: str) -> str:
    """mesh.frag with the constant ambient term replaced by irradiance from spherical harmonics (uniform
    ``vec3 sh[9]``, :data:`simgen.scene.panorama.SH_IRRADIANCE_GLSL`): ``base_color * E(n) / pi``."""
    if _AMBIENT_DECL not in text or _AMBIENT_TERM not in text:
        raise RenderError("pyrender's mesh.frag is not the expected one (no ambient term to replace); "
                          f"install pyrender=={PYRENDER_VERSION}")
    text = text.replace(_AMBIENT_DECL, _AMBIENT_DECL + "\n" + SH_IRRADIANCE_GLSL, 1)
    return text.replace(_AMBIENT_TERM, "color.xyz += base_color.xyz * sh_irradiance(n) / PI;", 1)


def with_shadow_spread(text: str, spread: float) -> str:
    """mesh.frag with pyrender's 3x3 PCF taps ``spread`` shadow-map texels apart (a softer penumbra)."""
    if _PCF_OFFSET not in text:
        raise RenderError("pyrender's mesh.frag is not the expected one (no PCF offset); "
                          f"install pyrender=={PYRENDER_VERSION}")
    return text.replace(_PCF_OFFSET, f"vec2 off = vec2(x,y) * {float(spread)!r} / size;", 1)


def bind_sh(program_set, sh) -> None:
    """Upload the (9, 3) SH coefficients with ``program_set(name, value)``."""
    for k in range(9):
        program_set(f"sh[{k}]", np.asarray(sh[k], np.float32))


def install_sh_binding(renderer) -> None:
    """pyrender's own lighting binder (used for shadow passes, which the lean pass hands to pyrender) also uploads
    the scene's SH ambient."""
    orig = renderer._bind_lighting

    def bind_lighting(self, scene, program, node, flags):
        orig(scene, program, node, flags)
        sh = getattr(scene, "_simgen_sh", None)
        if sh is not None:
            bind_sh(program.set_uniform, sh)

    renderer._bind_lighting = types.MethodType(bind_lighting, renderer)


def static_light_cache(get_scene):
    """A pyrender shader cache whose PBR programs are compiled for this scene's light counts.

    pyrender's ``mesh.frag`` loops ``for (i = 0; i < n_directional_lights; i++)`` over uniform arrays indexed by
    a run-time counter. A software rasteriser (llvmpipe) cannot unroll such loops or keep the light data in
    registers, and the lighting loops dominate the colour pass. Compiling one program per (directional, point,
    spot) light count, with constant loop bounds, lets the shader compiler unroll them: the same maths, the
    same image (tests compare against the stock shader), about 40% less colour-pass time on the YCB scene.
    At most 5 x 5 x 5 programs exist; in practice a handful. If the installed pyrender's shader differs from
    the expected text, the stock program is used unchanged.
    """
    from pyrender.constants import MAX_N_LIGHTS
    from pyrender.shader_program import ShaderProgram, ShaderProgramCache

    class _Program(ShaderProgram):
        def _load(self, shader_filename):
            text = super()._load(shader_filename)
            if shader_filename.endswith("mesh.frag") and all(b in text for b in _LOOP_BOUNDS.values()):
                for kind, bound in _LOOP_BOUNDS.items():
                    text = text.replace(bound, f"i < {int(self.defines['SIMGEN_N_' + kind.upper()])}")
                if self.defines.get("SIMGEN_SH"):
                    text = with_sh_ambient(text)
                if "SIMGEN_SHADOW_SPREAD" in self.defines:
                    text = with_shadow_spread(text, float(self.defines["SIMGEN_SHADOW_SPREAD"]))
            return text

    class _Cache(ShaderProgramCache):
        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            scene = get_scene()
            if fragment_shader != "mesh.frag" or geometry_shader is not None or scene is None:
                return super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
            defines = dict(defines or {})
            # the counts pyrender binds without shadows (at most MAX_N_LIGHTS of each kind)
            defines["SIMGEN_N_DIRECTIONAL"] = min(len(scene.directional_light_nodes), MAX_N_LIGHTS)
            defines["SIMGEN_N_POINT"] = min(len(scene.point_light_nodes), MAX_N_LIGHTS)
            defines["SIMGEN_N_SPOT"] = min(len(scene.spot_light_nodes), MAX_N_LIGHTS)
            if getattr(scene, "_simgen_sh", None) is not None:
                defines["SIMGEN_SH"] = 1
            if "DIRECTIONAL_LIGHT_SHADOWS" in defines or "SPOT_LIGHT_SHADOWS" in defines:
                defines["SIMGEN_SHADOW_SPREAD"] = float(getattr(scene, "_simgen_shadow_spread", 1.0))
            import OpenGL.contextdata

            key = (OpenGL.contextdata.getContext(), vertex_shader, fragment_shader, tuple(sorted(defines.items())))
            prog = self._program_cache.get(key)
            if prog is None:
                prog = _Program(vertex_shader=os.path.join(self.shader_dir, vertex_shader),
                                fragment_shader=os.path.join(self.shader_dir, fragment_shader),
                                geometry_shader=None, defines=defines)
                self._program_cache[key] = prog
            return prog

    return _Cache()


def sorted_visible_mesh_nodes(self, scene):
    """Draw order over the visible nodes only: opaque objects near to far, then the environment (table, walls),
    then transparent nodes far to near.

    pyrender sorts every mesh node, hidden ones included (with pooled nodes most are hidden), and draws opaque
    nodes far to near: the most overdraw possible. Near to far, with the large environment surfaces last, lets the
    rasteriser's early depth test reject the fragments hidden behind objects before they are shaded (llvmpipe:
    colour pass ~25% cheaper on scene=default). With depth testing the image is the same up to ties between
    exactly equal depths (measured: 1 pixel in 2.3 million differs, by one grey level).
    """
    cam = scene.get_pose(scene.main_camera_node)[:3, 3]
    env = getattr(self, "_simgen_env", ())
    solid, trans = [], []
    for node in scene.mesh_nodes:
        mesh = node.mesh
        if not mesh.is_visible:
            continue
        d = scene.get_pose(node)[:3, 3] - cam
        dist = float(np.sqrt(d @ d))
        if mesh.is_transparent:
            trans.append((-dist, node))
        else:
            solid.append((dist + (1e9 if node in env else 0.0), node))
    solid.sort(key=lambda t: t[0])
    trans.sort(key=lambda t: t[0])
    return [n for _, n in solid] + [n for _, n in trans]


class OrderedNodes:
    """An insertion-ordered set of pyrender nodes (pyrender keeps its mesh and light nodes in plain ``set``s).

    pyrender binds lights, and sorts meshes, in the iteration order of those sets, which depends on the nodes'
    addresses and on the set's history (lights are replaced every sample). The shader sums the lights of a kind
    in that order, and float sums of three or more terms depend on the order, so the same scene could render a
    pixel or two one grey level apart after a different history. In insertion order (= the order of
    ``Scene.lights`` and of the node pools) every render of a scene is the same, whatever came before.
    """

    __slots__ = ("_d",)

    def __init__(self, items=()) -> None:
        self._d = dict.fromkeys(items)

    def add(self, node) -> None:
        self._d[node] = None

    def remove(self, node) -> None:
        del self._d[node]

    def discard(self, node) -> None:
        self._d.pop(node, None)

    def __contains__(self, node) -> bool:
        return node in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __or__(self, other) -> "OrderedNodes":
        out = OrderedNodes(self._d)
        for n in other:
            out.add(n)
        return out


def ordered_node_sets(scene) -> None:
    """Replace a fresh pyrender Scene's mesh and light node sets by :class:`OrderedNodes`."""
    for name in ("_mesh_nodes", "_point_light_nodes", "_spot_light_nodes", "_directional_light_nodes"):
        setattr(scene, name, OrderedNodes(getattr(scene, name)))


def _linear_depth(d: np.ndarray, znear: float, zfar: float) -> np.ndarray:
    """OpenGL depth buffer values (H, W) in [0, 1] -> metres along the view axis, 0 where nothing was drawn
    (the same formula as pyrender's own readback)."""
    out = np.zeros(d.shape, np.float32)
    hit = d < 1.0
    z = 2.0 * d[hit] - 1.0
    out[hit] = (2.0 * znear * zfar) / (zfar + znear - z * (zfar - znear))
    return out
