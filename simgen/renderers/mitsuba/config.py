"""Keys of the path-traced backend (``render.mitsuba.*``). Engine-free: importing this imports no Mitsuba."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from simgen.core.checks import check

DENOISERS = ("none", "oidn", "nlmeans")
VARIANTS = ("llvm_ad_rgb", "scalar_rgb")


@dataclass
class MitsubaConfig:
    # samples per pixel (16 + oidn beats 64 without denoising at a quarter of the time; see docs/sim2real.md)
    spp: int = field(default=16, metadata=check(integer=True, min=1, max=65536))
    # longest light path (bounces + 1)
    max_depth: int = field(default=8, metadata=check(integer=True, min=1, max=64))
    # oidn: Open Image Denoise (CPU, albedo/normal guided; pip package pyoidn); nlmeans: OpenCV's; none
    denoise: str = field(default="oidn", metadata=check(choices=DENOISERS))
    # Mitsuba variant; null = the fastest usable (llvm_ad_rgb needs a system libLLVM >= 19, else scalar_rgb)
    variant: Optional[str] = field(default=None, metadata=check(choices=VARIANTS + (None,)))
    # render threads; null = the cores this process may use
    threads: Optional[int] = field(default=None, metadata=check(integer=True, min=1, max=1024))
    # pixel reconstruction filter: box (sharp, like the raster path) or gaussian
    rfilter: str = field(default="box", metadata=check(choices=("box", "gaussian")))
