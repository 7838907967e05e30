"""Denoisers for path-traced colour (CPU).

- ``oidn``: Intel Open Image Denoise (PyPI ``pyoidn``, which ships the OIDN 2.5 CPU library), HDR "RT" filter
  guided by the first-hit albedo and shading normal of the same render. Deterministic for a fixed thread count.
- ``nlmeans``: OpenCV's non-local means on the display image (no extra package; blurs texture detail).
- ``none``.
"""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from simgen.errors import ConfigError, RenderError

log = logging.getLogger(__name__)

DENOISERS = ("none", "oidn", "nlmeans")
NEEDS_AOVS = ("oidn",)


def check_denoiser(name: str) -> str:
    if name not in DENOISERS:
        raise ConfigError(f"render denoise={name!r} is unknown; use one of {list(DENOISERS)}")
    if name == "oidn":
        try:
            import pyoidn  # noqa: F401
        except ImportError:
            raise ConfigError("denoise=oidn needs the pyoidn package (Open Image Denoise); pip install pyoidn, or "
                              "use denoise=nlmeans|none") from None
    return name


class OidnDenoiser:
    """One OIDN CPU device + RT filter, reused across images. ``threads``: OIDN worker threads (None: all)."""

    def __init__(self, threads: Optional[int] = None, quality: str = "high") -> None:
        import pyoidn
        from pyoidn.capi import oidn_Capi, oidn_ffi

        self._capi, self._ffi, self._pyoidn = oidn_Capi, oidn_ffi, pyoidn
        self._device = pyoidn.Device(pyoidn.OIDN_DEVICE_TYPE_CPU)
        if self._device._device == oidn_ffi.NULL:
            raise RenderError("Open Image Denoise could not create a CPU device (needs SSE4.1); use denoise=nlmeans")
        if threads is not None:
            self._device.set_int("numThreads", int(threads))
        self._device.commit()
        self._check("device commit")
        self._filter = pyoidn.Filter(self._device, pyoidn.OIDN_FILTER_TYPE_RT)
        self._quality = {"high": pyoidn.OIDN_QUALITY_HIGH, "balanced": pyoidn.OIDN_QUALITY_BALANCED,
                         "fast": pyoidn.OIDN_QUALITY_FAST}[quality]

    def _check(self, what: str) -> None:
        msg = self._ffi.new("const char**")
        code = int(self._capi.oidnGetDeviceError(self._device._device, msg))
        if code != 0:
            text = self._ffi.string(msg[0]).decode(errors="replace") if msg[0] != self._ffi.NULL else ""
            raise RenderError(f"Open Image Denoise failed at {what} (error {code}: {text[:120]}); use "
                              f"denoise=nlmeans or none")

    def __call__(self, color: np.ndarray, albedo: Optional[np.ndarray] = None,
                 normal: Optional[np.ndarray] = None) -> np.ndarray:
        """color: (H, W, 3) float32 linear HDR; albedo: (H, W, 3) in [0, 1]; normal: (H, W, 3) in [-1, 1]
        -> (H, W, 3) float32 denoised."""
        p = self._pyoidn
        F3 = p.OIDN_FORMAT_FLOAT3
        color = np.ascontiguousarray(color, np.float32)
        out = np.empty_like(color)
        imgs = [(p.OIDN_IMAGE_COLOR, color)]
        if albedo is not None:
            imgs.append((p.OIDN_IMAGE_ALBEDO, np.ascontiguousarray(np.clip(albedo, 0, 1), np.float32)))
            if normal is not None:
                imgs.append((p.OIDN_IMAGE_NORMAL, np.ascontiguousarray(np.clip(normal, -1, 1), np.float32)))
        for name, img in imgs:
            self._filter.set_image(name, img, F3)
        self._filter.set_image(p.OIDN_IMAGE_OUTPUT, out, F3)
        self._filter.set_bool("hdr", True)
        self._filter.set_int("quality", int(self._quality))
        self._filter.commit()
        self._check("filter commit")
        self._filter.execute()
        self._check("filter execute")
        for name, _ in imgs:  # the filter holds raw pointers into our arrays: drop them
            self._filter.unset_image(name)
        self._filter.unset_image(p.OIDN_IMAGE_OUTPUT)
        return out

    def close(self) -> None:
        if self._filter is not None:
            self._filter.release()
            self._filter = None
        if self._device is not None:
            self._device.release()
            self._device = None


def nlmeans(rgb8: np.ndarray, strength: float = 6.0) -> np.ndarray:
    """OpenCV non-local means on a display image: (H, W, 3) uint8 -> (H, W, 3) uint8 (deterministic)."""
    import cv2

    return cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(rgb8), None, strength, strength, 7, 21)
