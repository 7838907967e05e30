"""A leaner forward pass for pyrender: the same draws and GL state, a fraction of the Python work.

pyrender's ``Renderer._forward_pass`` re-binds every uniform for every primitive: it looks up each uniform's
location by name (``glGetUniformLocation``), re-sends the camera matrices and every light's values, queries
``GL_MAX_TEXTURE_IMAGE_UNITS`` twice and rebuilds the shader-define dictionary, all through PyOpenGL's wrappers.
On a software rasteriser that Python work is a large share of a pass (measured on scene=default at 640x480 over
the colour, id and silhouette passes of one image: ~22 ms of ~96 ms of GL time).

:class:`FastForwardPass` draws exactly what pyrender draws, in the same order, with the same values in every
uniform and the same fixed-function state at every draw call, so the images are bit-identical (a test renders
both and compares): uniform locations are cached per program; camera and light uniforms, which hold for the
whole pass, are sent once per program per pass (uniform values persist in a program); state is set only when it
changes; programs are cached per (primitive, pass kind, light counts). Anything it does not cover (shadows,
normals passes, flat/depth-only/wireframe flags, more lights than pyrender binds, points) is handed to the
stock pass unchanged.
"""

from __future__ import annotations

import ctypes

import numpy as np


class FastForwardPass:
    """Replacement for ``pyrender.Renderer._forward_pass`` bound to one renderer: ``r._forward_pass = FastForwardPass(r)``."""

    def __init__(self, renderer) -> None:
        from OpenGL import GL
        from pyrender.constants import MAX_N_LIGHTS, ProgramFlags, RenderFlags, TexFlags
        from pyrender.light import PointLight, SpotLight
        from pyrender.material import MetallicRoughnessMaterial, SpecularGlossinessMaterial

        self.r = renderer
        self.GL = GL
        self.RF = RenderFlags
        self.max_lights = MAX_N_LIGHTS
        self.use_material = ProgramFlags.USE_MATERIAL
        self.stock = renderer._forward_pass  # the bound original
        self.supported = int(RenderFlags.OFFSCREEN | RenderFlags.SEG)
        self._loc: dict[tuple[int, str], int] = {}
        self._prog: dict[tuple, object] = {}
        self.calls = {"fast": 0, "stock": 0}
        self._PointLight, self._SpotLight = PointLight, SpotLight
        self._MR, self._SG = MetallicRoughnessMaterial, SpecularGlossinessMaterial
        # uniform setters by (kind, length) as pyrender's set_uniform picks them; matrices by shape
        self._vec = {}
        for kind, dtype, names in (("u", np.uint32, "uiv"), ("i", np.int32, "iv"), ("f", np.float32, "fv")):
            for n in (1, 2, 3, 4):
                self._vec[kind, n] = (getattr(GL, f"glUniform{n}{names}"), dtype)
        self._mat = {(n, n): getattr(GL, f"glUniformMatrix{n}fv") for n in (2, 3, 4)}
        # material textures in pyrender's binding order: (flag, attribute, sampler uniform)
        self._tex_slots = ((TexFlags.NORMAL, "normalTexture", "material.normal_texture"),
                           (TexFlags.OCCLUSION, "occlusionTexture", "material.occlusion_texture"),
                           (TexFlags.EMISSIVE, "emissiveTexture", "material.emissive_texture"),
                           (TexFlags.BASE_COLOR, "baseColorTexture", "material.base_color_texture"),
                           (TexFlags.METALLIC_ROUGHNESS, "metallicRoughnessTexture",
                            "material.metallic_roughness_texture"),
                           (TexFlags.DIFFUSE, "diffuseTexture", "material.diffuse_texture"),
                           (TexFlags.SPECULAR_GLOSSINESS, "specularGlossinessTexture",
                            "material.specular_glossiness_texture"))

    # ------------------------------------------------------------------ uniforms
    def _location(self, pid: int, name: str) -> int:
        key = (pid, name)
        loc = self._loc.get(key)
        if loc is None:
            loc = self._loc[key] = int(self.GL.glGetUniformLocation(pid, name))
        return loc

    def _set(self, pid: int, name: str, value) -> None:
        """pyrender's ShaderProgram.set_uniform, with the location cached (same calls, same converted values)."""
        GL = self.GL
        loc = self._location(pid, name)
        if loc == -1:  # pyrender ignores uniforms the program does not have
            return
        if isinstance(value, np.ndarray):
            if value.ndim == 1:
                kind = ("u" if np.issubdtype(value.dtype, np.unsignedinteger) else
                        "i" if np.issubdtype(value.dtype, np.integer) else "f")
                fn, dtype = self._vec[kind, value.shape[0]]
                fn(loc, 1, value.astype(dtype))
            else:
                self._mat[value.shape](loc, 1, GL.GL_TRUE, value.astype(np.float32))
        elif isinstance(value, float):
            GL.glUniform1f(loc, value)
        elif isinstance(value, (int, bool)):
            GL.glUniform1i(loc, int(value))

    # ------------------------------------------------------------------ pass
    def _light_counts(self, scene) -> tuple[int, int, int]:
        return (len(scene.directional_light_nodes), len(scene.spot_light_nodes), len(scene.point_light_nodes))

    def _program(self, primitive, flags: int, seg: bool, counts: tuple[int, int, int]):
        key = (id(primitive), seg, counts, id(self.r._program_cache))
        prog = self._prog.get(key)
        if prog is None or not prog._in_context():
            prog = self._prog[key] = self.r._get_primitive_program(primitive, flags, self.use_material)
        return prog

    def _bind_lighting(self, scene, pid: int, counts: tuple[int, int, int]) -> None:
        """pyrender's _bind_lighting without shadows, for scenes with at most MAX_N_LIGHTS of each kind."""
        PointLight, SpotLight = self._PointLight, self._SpotLight
        n_d, n_s, n_p = counts
        self._set(pid, "ambient_light", scene.ambient_light)
        sh = getattr(scene, "_simgen_sh", None)
        if sh is not None:
            for k in range(9):
                self._set(pid, f"sh[{k}]", np.asarray(sh[k], np.float32))
        self._set(pid, "n_directional_lights", n_d)
        self._set(pid, "n_spot_lights", n_s)
        self._set(pid, "n_point_lights", n_p)
        plc = slc = dlc = 0
        for n in scene.light_nodes:
            light = n.light
            pose = scene.get_pose(n)
            position = pose[:3, 3]
            direction = -pose[:3, 2]
            if isinstance(light, PointLight):
                b = f"point_lights[{plc}]."
                plc += 1
                self._set(pid, b + "position", position)
            elif isinstance(light, SpotLight):
                b = f"spot_lights[{slc}]."
                slc += 1
                las = 1.0 / max(0.001, np.cos(light.innerConeAngle) - np.cos(light.outerConeAngle))
                lao = -np.cos(light.outerConeAngle) * las
                self._set(pid, b + "direction", direction)
                self._set(pid, b + "position", position)
                self._set(pid, b + "light_angle_scale", las)
                self._set(pid, b + "light_angle_offset", lao)
            else:
                b = f"directional_lights[{dlc}]."
                dlc += 1
                self._set(pid, b + "direction", direction)
            self._set(pid, b + "color", light.color)
            self._set(pid, b + "intensity", light.intensity)

    def __call__(self, scene, flags, seg_node_map=None):
        counts = self._light_counts(scene)
        if int(flags) & ~self.supported or max(counts) > self.max_lights:
            self.calls["stock"] += 1
            return self.stock(scene, flags, seg_node_map=seg_node_map)
        self.calls["fast"] += 1
        GL, r = self.GL, self.r
        seg = bool(flags & self.RF.SEG)
        r._configure_forward_pass_viewport(flags)
        if seg:
            GL.glClearColor(0.0, 0.0, 0.0, 1.0)
            seg_node_map = seg_node_map or {}
        else:
            GL.glClearColor(*scene.bg_color)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        if seg:
            GL.glDisable(GL.GL_MULTISAMPLE)
        else:
            GL.glEnable(GL.GL_MULTISAMPLE)
        V, P = r._get_camera_matrices(scene)
        cam_pos = scene.get_pose(scene.main_camera_node)[:3, 3]
        current = None
        ready: set[int] = set()
        state: dict[str, object] = {}

        def setstate(key, value, fn) -> None:
            if state.get(key) != value:
                state[key] = value
                fn()

        for node in r._sorted_mesh_nodes(scene):
            mesh = node.mesh
            if not mesh.is_visible:
                continue
            if seg:
                if node not in seg_node_map:
                    continue
                color = seg_node_map[node]
                color = np.repeat(color, 3) if not isinstance(color, (list, tuple, np.ndarray)) else np.asanyarray(color)
                color = color / 255.0
            pose = None
            for primitive in mesh.primitives:
                if primitive.mode == 0 or primitive.poses is not None:  # points, instancing: not ours
                    return self._stock_from_scratch(scene, flags, seg_node_map)
                prog = self._program(primitive, flags, seg, counts)
                pid = prog._program_id
                if prog is not current:
                    GL.glUseProgram(pid)
                    current = prog
                if pid not in ready:  # per-pass uniforms, once per program
                    self._set(pid, "V", V)
                    self._set(pid, "P", P)
                    self._set(pid, "cam_pos", cam_pos)
                    if not seg:
                        self._bind_lighting(scene, pid, counts)
                    ready.add(pid)
                if seg:
                    self._set(pid, "color", color)
                if pose is None:
                    pose = scene.get_pose(node)
                self._set(pid, "M", pose)
                GL.glBindVertexArray(primitive._vaid)
                if not seg:
                    self._bind_material(primitive.material, pid, setstate)
                else:
                    setstate("cull", True, lambda: (GL.glEnable(GL.GL_CULL_FACE), GL.glCullFace(GL.GL_BACK)))
                    setstate("blend", "opaque", lambda: (GL.glEnable(GL.GL_BLEND),
                                                         GL.glBlendFunc(GL.GL_ONE, GL.GL_ZERO)))
                    setstate("fill", True, lambda: GL.glPolygonMode(GL.GL_FRONT_AND_BACK, GL.GL_FILL))
                setstate("points", False, lambda: GL.glDisable(GL.GL_PROGRAM_POINT_SIZE))
                if primitive.indices is not None:
                    GL.glDrawElementsInstanced(primitive.mode, primitive.indices.size, GL.GL_UNSIGNED_INT,
                                               ctypes.c_void_p(0), 1)
                else:
                    GL.glDrawArraysInstanced(primitive.mode, 0, len(primitive.positions), 1)
        GL.glBindVertexArray(0)
        if current is not None:
            GL.glUseProgram(0)
        GL.glFlush()
        if flags & self.RF.OFFSCREEN:
            return r._read_main_framebuffer(scene, flags)
        return None

    def _stock_from_scratch(self, scene, flags, seg_node_map):
        self.calls["stock"] += 1
        self.calls["fast"] -= 1
        self.GL.glBindVertexArray(0)
        return self.stock(scene, flags, seg_node_map=seg_node_map)

    def _bind_material(self, material, pid: int, setstate) -> None:
        """Textures, material uniforms and per-material state, as pyrender's _bind_and_draw_primitive sets them."""
        GL = self.GL
        tf = material.tex_flags
        unit = 0
        for flag, attr, name in self._tex_slots:
            if tf & flag:
                GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
                tex = getattr(material, attr)
                GL.glBindTexture(tex.tex_type, tex._texid)
                self._set(pid, name, unit)
                unit += 1
        self._set(pid, "material.emissive_factor", material.emissiveFactor)
        if isinstance(material, self._MR):
            self._set(pid, "material.base_color_factor", material.baseColorFactor)
            self._set(pid, "material.metallic_factor", material.metallicFactor)
            self._set(pid, "material.roughness_factor", material.roughnessFactor)
        elif isinstance(material, self._SG):
            self._set(pid, "material.diffuse_factor", material.diffuseFactor)
            self._set(pid, "material.specular_factor", material.specularFactor)
            self._set(pid, "material.glossiness_factor", material.glossinessFactor)
        if material.alphaMode == "BLEND":
            setstate("blend", "alpha", lambda: (GL.glEnable(GL.GL_BLEND),
                                                GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)))
        else:
            setstate("blend", "opaque", lambda: (GL.glEnable(GL.GL_BLEND), GL.glBlendFunc(GL.GL_ONE, GL.GL_ZERO)))
        wire = bool(material.wireframe)
        setstate("fill", not wire, lambda: GL.glPolygonMode(GL.GL_FRONT_AND_BACK, GL.GL_LINE if wire else GL.GL_FILL))
        if material.doubleSided:
            setstate("cull", False, lambda: GL.glDisable(GL.GL_CULL_FACE))
        else:
            setstate("cull", True, lambda: (GL.glEnable(GL.GL_CULL_FACE), GL.glCullFace(GL.GL_BACK)))
