"""SH_IRRADIANCE_GLSL (simgen/scene/panorama.py) compiles under GLSL 330 core and computes what its numpy twin
sh_irradiance computes: one full-screen pass over a grid of normals into a float framebuffer, read back."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gl

VERT = """#version 330 core
const vec2 p[3] = vec2[3](vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
void main() { gl_Position = vec4(p[gl_VertexID], 0.0, 1.0); }
"""

FRAG = """#version 330 core
{snippet}
uniform vec2 size;
out vec4 frag;
void main() {{
    vec2 uv = gl_FragCoord.xy / size;                 // pixel centres: (x + 0.5) / W
    float theta = uv.y * 3.14159265358979;
    float phi = uv.x * 6.28318530717959;
    vec3 n = vec3(sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta));
    frag = vec4(sh_irradiance(n), 1.0);
}}
"""


def test_glsl_snippet_matches_numpy_twin():
    pyrender = pytest.importorskip("pyrender")
    from OpenGL import GL
    from OpenGL.GL import shaders

    from simgen.scene import panorama as P

    W, H = 64, 32
    try:
        r = pyrender.OffscreenRenderer(W, H)                  # owns the (EGL) context and makes it current
    except Exception as e:                                    # no GL platform on this machine
        pytest.skip(f"no OpenGL context: {e}")
    try:
        prog = shaders.compileProgram(shaders.compileShader(VERT, GL.GL_VERTEX_SHADER),
                                      shaders.compileShader(FRAG.format(snippet=P.SH_IRRADIANCE_GLSL),
                                                            GL.GL_FRAGMENT_SHADER), validate=False)
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA32F, W, H, 0, GL.GL_RGBA, GL.GL_FLOAT, None)
        fbo = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, tex, 0)
        assert GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE
        vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(vao)
        GL.glViewport(0, 0, W, H)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(prog)
        L = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
        L[0] = np.abs(L[0]) + 1.0                                          # positive, with a clamped part
        GL.glUniform3fv(GL.glGetUniformLocation(prog, "sh"), 9, L.ravel())
        GL.glUniform2f(GL.glGetUniformLocation(prog, "size"), float(W), float(H))
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        out = np.frombuffer(GL.glReadPixels(0, 0, W, H, GL.GL_RGBA, GL.GL_FLOAT), np.float32).reshape(H, W, 4)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        GL.glDeleteFramebuffers(1, [fbo])
        GL.glDeleteTextures([tex])
        GL.glDeleteVertexArrays(1, [vao])
        GL.glDeleteProgram(prog)
    finally:
        r.delete()
    th = (np.arange(H) + 0.5) / H * np.pi
    ph = (np.arange(W) + 0.5) / W * 2 * np.pi
    n = np.stack(np.broadcast_arrays(np.sin(th)[:, None] * np.cos(ph), np.sin(th)[:, None] * np.sin(ph),
                                     np.cos(th)[:, None]), -1).reshape(-1, 3)
    ref = P.sh_irradiance(L.astype(np.float64), n).reshape(H, W, 3)
    assert ref.max() > 1.0 and (ref == 0).any()                            # both branches of the clamp
    np.testing.assert_allclose(out[..., :3], ref, atol=2e-4 * ref.max())
