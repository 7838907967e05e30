"""Render outputs (engine-free)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Frame:
    """One rendered view.

    rgb: (H, W, 3) uint8; depth: (H, W) float32 metres along the camera z axis, 0 = nothing rendered;
    instance_ids: (H, W) int32, 0 = background/environment, otherwise ``ObjectInstance.instance_id``.
    """

    rgb: np.ndarray
    depth: np.ndarray
    instance_ids: np.ndarray
    # True when the renderer drew the scene's panorama itself (path tracing); a raster frame shows bg_color there
    environment_drawn: bool = False


def encode_ids(instance_id: int) -> tuple[int, int, int]:
    """Instance id -> RGB8 colour for the id pass (ids up to 65535)."""
    return (instance_id & 0xFF, (instance_id >> 8) & 0xFF, 0)


def decode_ids(seg_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 id-pass colours -> (H, W) int32 instance ids."""
    return seg_rgb[..., 0].astype(np.int32) | (seg_rgb[..., 1].astype(np.int32) << 8)
