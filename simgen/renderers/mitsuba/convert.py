"""Engine-free conversions between simgen's scene model and a path tracer's (pure numpy, no mitsuba import).

Frames: simgen's camera poses are OpenCV (x right, y down, z forward); a Mitsuba camera looks along its local +z
with +x to the LEFT of the image and +y up, i.e. the OpenCV frame turned 180 degrees about z. simgen lights shine
along their local -z, Mitsuba's directional and spot emitters along their local +z.

Panorama convention (shared with the raster path): world direction d = (x, y, z), z up;
``phi = atan2(y, x) - rotation``, ``u = (0.5 - phi / 2pi) mod 1``, ``v = arccos(z) / pi``; pixel coordinates
``col = u W - 0.5``, ``row = v H - 0.5`` (pixel centres at integers, as cv2.remap).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simgen.errors import AssetError

# OpenCV camera frame -> Mitsuba camera frame (x left, y up, z forward): 180 degrees about z
_CV_TO_MITSUBA = np.diag([-1.0, -1.0, 1.0, 1.0])
# simgen light frame (shines along -z) -> Mitsuba emitter frame (shines along +z): 180 degrees about x
_LIGHT_TO_MITSUBA = np.diag([1.0, -1.0, -1.0, 1.0])
# Mitsuba envmap local frame (u = atan2(x, -z) / 2pi, v = arccos(y) / pi, y up) -> simgen world (z up), derived
# from the convention above: local (x, y, z) = world (y, z, x) of the direction un-rotated by ``rotation``
_ENV_LOCAL_TO_WORLD = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

MAX_HDR_BYTES = 256 * 1024 * 1024
MAX_HDR_PIXELS = 8192 * 4096


def srgb_to_linear(srgb8: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 sRGB -> (..., 3) float32 linear, the exact sRGB curve (as Mitsuba and pyrender decode)."""
    c = np.asarray(srgb8, np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def display_transform(linear: np.ndarray) -> np.ndarray:
    """Linear radiance (H, W, 3) float -> (H, W, 3) uint8, the raster path's display transform
    ``round(255 * clip(linear, 0, 1) ** (1 / 2.2))``."""
    x = np.clip(np.nan_to_num(np.asarray(linear, np.float32), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return np.rint(255.0 * x ** np.float32(1.0 / 2.2)).astype(np.uint8)


def display_to_linear(display: np.ndarray) -> np.ndarray:
    """Inverse of :func:`display_transform` for colours given in display space, e.g. ``scene.bg_color`` (3,) in 0..1
    (pyrender clears the framebuffer with it, unshaded): -> linear float32."""
    return np.clip(np.asarray(display, np.float32), 0.0, 1.0) ** np.float32(2.2)


def sensor_params(camera) -> dict:
    """simgen Camera -> Mitsuba ``perspective`` sensor values.

    Returns ``{"x_fov": degrees, "principal_point_offset_x": ..., "principal_point_offset_y": ...,
    "to_world": (4, 4) float64}``. Mitsuba's pinhole has square pixels: the horizontal focal length ``fx`` is
    used for both axes (YCB-Video: fy/fx - 1 = 7e-4, at most 0.2 px at the image border).
    """
    w, h = float(camera.width), float(camera.height)
    x_fov = float(np.degrees(2.0 * np.arctan(0.5 * w / float(camera.fx))))
    # Mitsuba's offsets move the image window, not the principal point: the opposite sign of (c - size / 2)
    return {"x_fov": x_fov,
            "principal_point_offset_x": (0.5 * w - float(camera.cx)) / w,
            "principal_point_offset_y": (0.5 * h - float(camera.cy)) / h,
            "to_world": np.asarray(camera.T_world_cam, np.float64) @ _CV_TO_MITSUBA}


def emitter_to_world(T_world_light: np.ndarray) -> np.ndarray:
    """simgen light pose (shines along local -z) -> Mitsuba emitter ``to_world`` (shines along local +z).
    (4, 4) float64; only the rotation matters for directional lights."""
    return np.asarray(T_world_light, np.float64) @ _LIGHT_TO_MITSUBA


def envmap_to_world(rotation: float) -> np.ndarray:
    """Mitsuba ``envmap`` ``to_world`` (4, 4) float64 that realises the panorama convention for ``rotation``
    (radians about world +z)."""
    c, s = np.cos(rotation), np.sin(rotation)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    T = np.eye(4)
    T[:3, :3] = Rz @ _ENV_LOCAL_TO_WORLD
    return T


def camera_ray_directions(camera) -> np.ndarray:
    """Unit world directions of the pixel-centre rays of a pinhole camera: (H, W, 3) float64."""
    px, py = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    d = np.stack([(px - camera.cx) / camera.fx, (py - camera.cy) / camera.fy, np.ones_like(px)], -1)
    d = d @ np.asarray(camera.T_world_cam, np.float64)[:3, :3].T
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def envmap_lookup(hdr: np.ndarray, directions: np.ndarray, rotation: float) -> np.ndarray:
    """Reference panorama lookup: hdr (H, W, 3) float32 linear, directions (..., 3) unit world vectors ->
    (..., 3) float32 radiance before exposure. Bilinear between pixel centres (as cv2.remap with INTER_LINEAR),
    wrapping horizontally and clamping at the top and bottom rows."""
    H, W = hdr.shape[:2]
    d = np.asarray(directions, np.float64)
    phi = np.arctan2(d[..., 1], d[..., 0]) - rotation
    u = np.mod(0.5 - phi / (2.0 * np.pi), 1.0)
    v = np.arccos(np.clip(d[..., 2], -1.0, 1.0)) / np.pi
    col = u * W - 0.5
    row = np.clip(v * H - 0.5, 0.0, H - 1.0)
    c0 = np.floor(col)
    r0 = np.minimum(np.floor(row), H - 2) if H > 1 else np.zeros_like(row)
    fc = (col - c0)[..., None]
    fr = (row - r0)[..., None]
    c0 = c0.astype(np.int64) % W
    c1 = (c0 + 1) % W
    r0 = r0.astype(np.int64)
    r1 = np.minimum(r0 + 1, H - 1)
    img = np.asarray(hdr, np.float64)
    top = img[r0, c0] * (1 - fc) + img[r0, c1] * fc
    bot = img[r1, c0] * (1 - fc) + img[r1, c1] * fc
    return (top * (1 - fr) + bot * fr).astype(np.float32)


def envmap_background(hdr: np.ndarray, camera, rotation: float, exposure: float) -> np.ndarray:
    """The panorama as seen by ``camera`` (numpy reference of the convention): (H, W, 3) float32 linear radiance."""
    return envmap_lookup(hdr, camera_ray_directions(camera), rotation) * np.float32(exposure)


def load_hdr(path: str | Path) -> np.ndarray:
    """Read an equirectangular Radiance HDR panorama -> (H, W, 3) float32 linear RGB, W = 2 H.

    Raises AssetError (one line: problem and fix) for a missing, oversized, unreadable or non-2:1 file."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise AssetError(f"panorama {p} not found; check the envmap path")
    if p.stat().st_size > MAX_HDR_BYTES:
        raise AssetError(f"panorama {p} is larger than {MAX_HDR_BYTES >> 20} MiB; use a smaller (e.g. 1K/2K) file")
    img = cv2.imread(str(p), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if img is None or img.ndim != 3:
        raise AssetError(f"panorama {p} is not a readable Radiance .hdr image; re-export it as RGBE .hdr")
    h, w = img.shape[:2]
    if w != 2 * h or w * h > MAX_HDR_PIXELS:
        raise AssetError(f"panorama {p} is {w}x{h}; it must be equirectangular (width = 2 x height, at most "
                         f"8192x4096)")
    rgb = np.ascontiguousarray(img[..., ::-1], dtype=np.float32)
    if not np.isfinite(rgb).all() or rgb.min() < 0:
        raise AssetError(f"panorama {p} holds negative or non-finite values; re-export it")
    return rgb
