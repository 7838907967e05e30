"""Keys of the pyrender backend (``render.pyrender.*``). Engine-free: importing this imports no OpenGL."""

from __future__ import annotations

from dataclasses import dataclass

PLATFORMS = ("egl", "osmesa")


@dataclass
class PyrenderConfig:
    # OpenGL platform for headless rendering: egl (Mesa llvmpipe on CPU, NVIDIA on GPU) or osmesa.
    platform: str = "egl"
    # 4x multisampled colour pass (smooth edges); false: single-sample, faster on a software rasteriser.
    # Labels always come from an aliasing-free id pass either way.
    msaa: bool = True
