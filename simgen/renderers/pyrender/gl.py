"""OpenGL platform selection for headless rendering. Must run before PyOpenGL is imported.

``egl`` (default): Mesa llvmpipe on a CPU machine, the NVIDIA driver on a GPU machine. ``osmesa``: Mesa's
off-screen software renderer (needs ``libosmesa6``).
"""

from __future__ import annotations

import os
import sys

from simgen.core.quiet import quiet_loggers
from simgen.errors import RenderError
from simgen.renderers.pyrender.config import PLATFORMS

_FIX = {
    "egl": "install Mesa's EGL (Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri libgbm1) "
           "or try render.pyrender.platform=osmesa",
    "osmesa": "install OSMesa (Debian/Ubuntu: apt-get install libosmesa6) or try render.pyrender.platform=egl",
}


def select_platform(platform: str) -> None:
    """Set ``PYOPENGL_PLATFORM`` (must happen before OpenGL is imported in this process)."""
    if platform not in PLATFORMS:
        raise RenderError(f"unknown render.pyrender.platform {platform!r}; use one of {', '.join(PLATFORMS)}")
    current = os.environ.get("PYOPENGL_PLATFORM")
    if "OpenGL" in sys.modules and current and current != platform:
        raise RenderError(f"OpenGL was already imported with PYOPENGL_PLATFORM={current}; cannot switch to "
                          f"{platform} in the same process (start a new process or unset PYOPENGL_PLATFORM)")
    os.environ["PYOPENGL_PLATFORM"] = platform
    quiet_loggers("OpenGL", "trimesh")  # "No OpenGL_accelerate module loaded", ...


def platform_fix(platform: str) -> str:
    return _FIX.get(platform, "")


_LIMITS: dict[str, dict] = {}


def probe(platform: str) -> dict:
    """Create and free a tiny off-screen context: raises RenderError (with the fix) if the platform is unusable.

    Returns the context's limits: ``{"max_size": largest renderbuffer/viewport side in pixels}`` (cached)."""
    if platform in _LIMITS:
        return _LIMITS[platform]
    select_platform(platform)
    try:
        import pyrender

        r = pyrender.OffscreenRenderer(8, 8)
    except Exception as exc:  # missing libEGL / libOSMesa, no device, ... (many exception types)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RenderError(f"no working OpenGL platform ({platform}: {msg[:160]}); {platform_fix(platform)}") from None
    try:
        from OpenGL import GL

        rb = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
        vp = [int(v) for v in GL.glGetIntegerv(GL.GL_MAX_VIEWPORT_DIMS)]
        _LIMITS[platform] = {"max_size": min([rb] + vp)}
    finally:
        r.delete()
    return _LIMITS[platform]
