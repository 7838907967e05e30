"""Keys of the pyrender backend (``render.pyrender.*``). Engine-free: importing this imports no OpenGL."""

from __future__ import annotations

from dataclasses import dataclass, field

from simgen.core.checks import check

PLATFORMS = ("egl", "osmesa")
SWITCHES = ("auto", "on", "off")


@dataclass
class PyrenderConfig:
    # OpenGL platform for headless rendering: egl (Mesa llvmpipe on CPU, NVIDIA on GPU) or osmesa.
    platform: str = "egl"
    # 4x multisampled colour pass (smooth edges); false: single-sample, faster on a software rasteriser.
    # Labels always come from an aliasing-free id pass either way.
    msaa: bool = True
    # Directional lights cast shadows (a shadow map per light, PCF-filtered): on, off, or auto = on for samples lit
    # by an environment (a panorama's key light). Labels never change: ids and masks come from the id pass.
    shadows: str = field(default="auto", metadata=check(choices=SWITCHES))
    # Shadow edge softness: PCF tap spacing in shadow-map texels (1 = pyrender's 3x3; larger = softer penumbra).
    shadow_softness: float = field(default=2.5, metadata=check(min=0.5, max=16.0))
    # Screen-space ambient occlusion (contact shadows where objects meet the table and each other): on, off, or
    # auto = on for environment-lit samples; strength and the world-space reach of occluders (metres).
    ao: str = field(default="auto", metadata=check(choices=SWITCHES))
    ao_strength: float = field(default=2.0, metadata=check(min=0.0, max=4.0))
    ao_radius: float = field(default=0.08, metadata=check(gt=0.0, max=1.0))
