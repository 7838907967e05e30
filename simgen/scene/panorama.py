"""HDR panoramas (equirectangular environment maps) as data: loading, directions, background, lights, SH.

Engine-free (numpy + OpenCV). The raster renderer shows :func:`background` behind the scene, lights it with one
shadow-casting directional light from :func:`dominant_light` and diffuse irradiance from :func:`sh9` of the rest
(:data:`SH_IRRADIANCE_GLSL`, twin of :func:`sh_irradiance`); :func:`env_lighting` bundles that per sample.

Convention (shared with the path-traced renderer). A panorama is an equirectangular Radiance HDR, width = 2 x
height, decoded to float32 linear RGB. World frame z-up; per sample a ``rotation`` (radians about world +z) and an
``exposure`` (linear multiplier). For a unit world direction d = (x, y, z)::

    phi = atan2(y, x) - rotation
    u   = (0.5 - phi / (2*pi)) mod 1          # left -> right
    v   = arccos(clip(z, -1, 1)) / pi         # 0 = top row (+z), 1 = bottom row (-z)
    col = u * W - 0.5 ; row = v * H - 0.5     # pixel centres at integers

With rotation 0 the centre column looks along +x and a quarter from the left along +y (the image is seen from
inside, unmirrored). Pinhole ray of pixel (px, py): ``((px + 0.5 - cx) / fx, (py + 0.5 - cy) / fy, 1)`` in the
OpenCV camera frame, rotated to world by ``T_world_cam[:3, :3]``. Display (raster path):
``srgb8 = round(255 * clip(linear, 0, 1) ** (1 / 2.2))``.

Arrays: ``pano (H, W, 3) float32`` linear RGB (H = W / 2); directions and solid angles are float64.
Luminance: Rec. 709 weights (0.2126, 0.7152, 0.0722), the primaries of the Poly Haven files.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from simgen.core.geometry import norm
from simgen.errors import AssetError, ConfigError
from simgen.scene.texture_bank import _ByteLRU, list_files, read_bounded

log = logging.getLogger(__name__)

HDR_SUFFIXES = (".hdr",)
MAX_HDR_BYTES = 256 * 2**20          # an 8K RGBE file is ~100-200 MB
MAX_HDR_PIXELS = 8192 * 4096
DEFAULT_MAX_WIDTH = 2048             # decoded panoramas wider than this are area-downscaled
MAX_PANORAMAS = 500
CACHE_BYTES = 256 * 2**20
LUMA = np.array([0.2126, 0.7152, 0.0722])
MIDDLE_GREY = 0.18

_PANOS = _ByteLRU(CACHE_BYTES)


@dataclass(frozen=True)
class Envmap:
    """An environment in a scene (the lead stores it as ``scene.envmap``; None when absent).

    path: Radiance .hdr file; rotation: radians about world +z; exposure: linear multiplier (> 0)."""

    path: str
    rotation: float = 0.0
    exposure: float = 1.0

    def __post_init__(self):
        if not math.isfinite(self.rotation):
            raise ConfigError(f"envmap rotation={self.rotation} is not finite; use radians")
        if not (math.isfinite(self.exposure) and self.exposure > 0):
            raise ConfigError(f"envmap exposure={self.exposure} must be a positive finite multiplier")


# ---------------------------------------------------------------------------------------------- files
def hdr_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a Radiance HDR header (standard ``-Y H +X W`` orientation); None otherwise."""
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        return None
    head = data[:65536]
    end = head.find(b"\n\n")
    if end < 0:
        return None
    line_end = head.find(b"\n", end + 2)
    res = head[end + 2:line_end if line_end >= 0 else len(head)].split()
    if len(res) != 4 or res[0] != b"-Y" or res[2] != b"+X":
        return None
    try:
        return int(res[3]), int(res[1])
    except ValueError:
        return None


def list_panoramas(folder, *, key: str = "randomization.lighting.envmap_dir",
                   max_files: int = MAX_PANORAMAS) -> list[Path]:
    """Radiance ``.hdr`` files (any case) directly in ``folder``, sorted by name, at most ``max_files``;
    one-line ConfigError naming ``key`` when the folder is missing, empty or too large."""
    return list_files(folder, HDR_SUFFIXES, key=key, what="panorama (.hdr)", max_files=max_files)


def _decode_panorama(p: Path, max_width: int, max_bytes: int, max_pixels: int) -> np.ndarray:
    import cv2

    if p.suffix.lower() not in HDR_SUFFIXES:
        raise AssetError(f"panorama {p} is not a Radiance .hdr file; convert it to an equirectangular .hdr")
    data = read_bounded(p, max_bytes, "panorama")
    size = hdr_size(data)
    if size is None:
        raise AssetError(f"panorama {p} has no Radiance header with a '-Y H +X W' size line; re-save it as .hdr")
    w, h = size
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise AssetError(f"panorama {p} is {w}x{h}, more than the {max_pixels} pixels allowed (or empty); use a "
                         f"smaller version (e.g. the 1k or 2k file)")
    if w != 2 * h:
        raise AssetError(f"panorama {p} is {w}x{h}, not 2:1; use an equirectangular (latitude-longitude) panorama")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if img is None or img.shape != (h, w, 3):
        raise AssetError(f"panorama {p} does not decode (truncated or corrupt RGBE data); re-download or remove it")
    img = np.ascontiguousarray(img[..., ::-1], dtype=np.float32)
    if not np.all(np.isfinite(img)):
        raise AssetError(f"panorama {p} holds NaN or infinite values; re-export it")
    if float(img.min()) < 0:
        raise AssetError(f"panorama {p} holds negative radiance; re-export it with non-negative values")
    if w > max_width:
        img = cv2.resize(img, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    return img


def load_panorama(path, *, max_width: int = DEFAULT_MAX_WIDTH, max_bytes: int = MAX_HDR_BYTES,
                  max_pixels: int = MAX_HDR_PIXELS) -> np.ndarray:
    """The panorama at ``path`` as ``(H, W, 3) float32`` linear RGB (file values; apply exposure yourself).

    Checks (one-line AssetError naming the file and the fix): .hdr suffix, at most ``max_bytes``, a Radiance
    header whose size is 2:1 and at most ``max_pixels`` (read before decoding), decodes, finite, non-negative.
    Wider than ``max_width`` (even, >= 2): area-downscaled (INTER_AREA keeps the mean radiance, hence the light).
    Cached per process (path, size, mtime, max_width): the result is READ-ONLY."""
    if not (2 <= int(max_width) <= 16384 and int(max_width) % 2 == 0):
        raise ConfigError(f"panorama max_width={max_width} is out of range; use an even number in 2..16384")
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise AssetError(f"panorama {p} is missing; fix the path or remove it from the list") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, int(max_width))
    return _PANOS.get_or_make(key, lambda: _decode_panorama(p, int(max_width), max_bytes, max_pixels))


def clear_cache() -> None:
    """Forget every decoded panorama and derived lighting this process keeps."""
    _PANOS.clear()
    _base_lighting.cache_clear()


# ---------------------------------------------------------------------------------------------- geometry
def _check_pano(pano: np.ndarray) -> tuple[int, int]:
    if pano.ndim != 3 or pano.shape[2] != 3 or pano.shape[1] != 2 * pano.shape[0] or pano.shape[0] < 1:
        raise ConfigError(f"panorama array has shape {pano.shape}; expected (H, 2H, 3)")
    return pano.shape[0], pano.shape[1]


def _row_theta(H: int) -> np.ndarray:
    return (np.arange(H) + 0.5) * (np.pi / H)


def _col_phi(W: int, rotation: float) -> np.ndarray:
    """World azimuth of each column centre: phi = (0.5 - u) * 2 pi + rotation, u = (col + 0.5) / W."""
    return (0.5 - (np.arange(W) + 0.5) / W) * (2 * np.pi) + rotation


def directions(H: int, W: int, rotation: float = 0.0) -> np.ndarray:
    """World unit directions of the pixel centres: ``(H, W, 3) float64`` (inverse of the convention's mapping)."""
    th = _row_theta(H)[:, None]
    ph = _col_phi(W, rotation)[None, :]
    st = np.sin(th)
    return np.stack(np.broadcast_arrays(st * np.cos(ph), st * np.sin(ph), np.cos(th)), axis=-1)


def solid_angles(H: int, W: int) -> np.ndarray:
    """Exact solid angle of each pixel, steradians: ``(H, W) float64``; sums to 4 pi."""
    edges = np.cos(np.arange(H + 1) * (np.pi / H))
    row = (2 * np.pi / W) * (edges[:-1] - edges[1:])
    return np.broadcast_to(row[:, None], (H, W)).copy()


def direction_to_pixel(d: np.ndarray, H: int, W: int, rotation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Continuous (col, row) pixel coordinates of world directions ``d (..., 3)`` (need not be unit), exactly the
    convention above: col in [-0.5, W - 0.5), row in [-0.5, H - 0.5]; float64 arrays of shape ``d.shape[:-1]``."""
    d = np.asarray(d, np.float64)
    n = np.linalg.norm(d, axis=-1)
    n = np.where(n > 0, n, 1.0)
    phi = np.arctan2(d[..., 1], d[..., 0]) - rotation
    u = np.mod(0.5 - phi / (2 * np.pi), 1.0)
    u = np.where(u >= 1.0, 0.0, u)                       # mod can round up to exactly 1.0
    v = np.arccos(np.clip(d[..., 2] / n, -1.0, 1.0)) / np.pi
    return u * W - 0.5, v * H - 0.5


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB ``(..., 3)`` -> ``(...)`` float64."""
    return np.asarray(rgb, np.float64) @ LUMA


def rot_z(angle: float) -> np.ndarray:
    """3x3 rotation by ``angle`` radians about +z."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------------------------- background
def camera_rays(camera_K: np.ndarray, T_world_cam: np.ndarray, width: int, height: int,
                dtype=np.float64) -> np.ndarray:
    """World unit ray directions of a pinhole camera's pixel centres: ``(height, width, 3)`` of ``dtype``.

    camera_K: (3, 3) intrinsics (no skew); T_world_cam: (4, 4) camera pose, OpenCV frame (x right, y down, z
    forward). Ray of pixel (px, py) = R @ ((px + 0.5 - cx) / fx, (py + 0.5 - cy) / fy, 1), normalised."""
    K = np.asarray(camera_K, np.float64)
    T = np.asarray(T_world_cam, np.float64)
    if K.shape != (3, 3) or T.shape != (4, 4) or not (np.all(np.isfinite(K)) and np.all(np.isfinite(T))):
        raise ConfigError(f"camera_K {K.shape} / T_world_cam {T.shape} must be finite 3x3 and 4x4 matrices")
    if abs(K[0, 1]) > 1e-9 or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ConfigError("camera_K must have positive focal lengths and zero skew")
    if not (1 <= width <= 16384 and 1 <= height <= 16384):
        raise ConfigError(f"image size {width}x{height} is out of range; use 1..16384 pixels")
    px = ((np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]).astype(dtype)
    py = ((np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]).astype(dtype)
    R = T[:3, :3].astype(dtype)
    out = np.empty((height, width, 3), dtype)
    for i in range(3):                                   # R @ (px, py, 1) as outer sums: no (N, 3) x (3, 3)
        out[..., i] = (R[i, 0] * px)[None, :] + (R[i, 1] * py + R[i, 2])[:, None]
    out /= np.sqrt((out * out).sum(-1, keepdims=True))
    return out


def _padded(pano: np.ndarray) -> np.ndarray:
    """Pano with one wrapped column on each side and, above/below, the row across the pole (shifted by W/2)."""
    H, W = pano.shape[:2]
    wrap = lambda a: np.concatenate([a[:, -1:], a, a[:, :1]], axis=1)      # noqa: E731
    mid = wrap(pano)
    top = wrap(np.roll(pano[:1], W // 2, axis=1))
    bot = wrap(np.roll(pano[-1:], W // 2, axis=1))
    return np.ascontiguousarray(np.concatenate([top, mid, bot], axis=0))


def sample(pano: np.ndarray, d: np.ndarray, rotation: float = 0.0) -> np.ndarray:
    """Bilinear radiance of ``pano`` in world unit directions ``d (h, w, 3)`` -> ``(h, w, 3) float32``
    (cv2.remap, horizontal wrap, across-the-pole neighbours above the top and below the bottom row).

    The pixel map is the convention's, computed in float32 (error < 1e-3 px at W = 4096)."""
    import cv2

    H, W = _check_pano(pano)
    d = np.asarray(d, np.float32)
    phi = np.arctan2(d[..., 1], d[..., 0]) - np.float32(rotation)
    u = np.float32(0.5) - phi * np.float32(1 / (2 * np.pi))
    u -= np.floor(u)
    v = np.arccos(np.clip(d[..., 2], -1, 1)) * np.float32(1 / np.pi)
    col = u * np.float32(W) + np.float32(0.5)            # (u W - 0.5) + 1 for the padding
    row = v * np.float32(H) + np.float32(0.5)
    src = _padded(np.asarray(pano, np.float32))
    return cv2.remap(src, col, row, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def background(pano: np.ndarray, camera_K: np.ndarray, T_world_cam: np.ndarray, width: int, height: int,
               rotation: float = 0.0, exposure: float = 1.0) -> np.ndarray:
    """Linear radiance the pinhole camera sees of the panorama: ``(height, width, 3) float32`` = pano * exposure.

    camera_K: (3, 3); T_world_cam: (4, 4) OpenCV frame. Bilinear (cv2.remap), wrapping horizontally. Show it with
    :func:`display_transform` (the raster path) after compositing."""
    out = sample(pano, camera_rays(camera_K, T_world_cam, width, height, np.float32), rotation)
    out *= np.float32(exposure)
    return out


def display_transform(linear: np.ndarray) -> np.ndarray:
    """The raster path's display transform: ``round(255 * clip(linear, 0, 1) ** (1/2.2))`` -> uint8, same shape."""
    x = np.clip(np.asarray(linear, np.float32), 0.0, 1.0) ** np.float32(1 / 2.2)
    return np.rint(x * np.float32(255)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- dominant light
class DominantLight(NamedTuple):
    """direction: (3,) world unit vector TOWARD the light; colour: (3,) linear RGB with Rec. 709 luminance 1;
    irradiance: E, luminance irradiance on a surface facing the light (file units x exposure given); RGB
    irradiance = E * colour; pano_without: (H, W, 3) float32, the panorama with the light's region clamped to
    its surroundings (light the rest of the scene with it; show the ORIGINAL as the background)."""

    direction: np.ndarray
    colour: np.ndarray
    irradiance: float
    pano_without: np.ndarray


def _wrap_components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """8-connected components of a (H, W) bool mask on the sphere: joined across the left/right seam and across
    the poles (top/bottom row pixels W/2 apart). Returns (count, labels (H, W) int32, 0 = background)."""
    import cv2

    H, W = mask.shape
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    left, right = lab[:, 0], lab[:, -1]
    pairs = [np.stack([left, right], 1), np.stack([left[1:], right[:-1]], 1), np.stack([left[:-1], right[1:]], 1)]
    for r in (0, H - 1):
        pairs.append(np.stack([lab[r], np.roll(lab[r], W // 2)], 1))
    pairs = np.concatenate(pairs)
    pairs = np.unique(pairs[(pairs[:, 0] > 0) & (pairs[:, 1] > 0)], axis=0)
    for a, b in pairs:
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n)])
    uniq, relab = np.unique(roots, return_inverse=True)
    return len(uniq), relab[lab].astype(np.int32)


def _dilate_wrap(mask: np.ndarray, r: int) -> np.ndarray:
    """Dilate a (H, W) bool mask by a disc of ``r`` pixels, wrapping horizontally."""
    import cv2

    if r <= 0:
        return mask.copy()
    W = mask.shape[1]
    r = min(r, W // 2)
    m = np.concatenate([mask[:, -r:], mask, mask[:, :r]], axis=1).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(m, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)[:, r:-r].astype(bool)


def _top_mass_threshold(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The weighted q-quantile of ``values`` (weights >= 0): the value above which lies (1 - q) of the total
    weight. Only the top of the distribution is sorted (argpartition, grown until it holds that weight)."""
    v, w = values.ravel(), weights.ravel()
    need = (1.0 - q) * float(w.sum())
    n = len(v)
    m = min(n, max(64, int(n * (1.0 - q) * 2)))
    while True:
        top = np.argpartition(v, n - m)[n - m:] if m < n else np.arange(n)
        if m == n or float(w[top].sum()) >= need:
            break
        m = min(n, m * 4)
    order = top[np.argsort(-v[top], kind="stable")]
    i = min(int(np.searchsorted(np.cumsum(w[order]), need)), len(order) - 1)
    return float(v[order[i]])


def _no_light(pano: np.ndarray) -> DominantLight:
    return DominantLight(np.array([0.0, 0.0, 1.0]), np.ones(3) / LUMA.sum(), 0.0, pano)


def dominant_light(pano: np.ndarray, rotation: float = 0.0, *, quantile: float = 0.995,
                   peak_fraction: float = 0.02) -> DominantLight:
    """The brightest compact region (sun, window, lamp) as one directional light, and the panorama without it.

    pano: (H, W, 3) float32 linear RGB; rotation: radians about +z (only the returned direction depends on it).
    Method: luminance Y; threshold ``T = max(solid-angle-weighted quantile of Y, peak_fraction * max Y)`` (so the
    candidate pixels cover at most ``1 - quantile`` of the sphere: compact by construction, and a sun's corona
    of bright sky is not taken in); 8-connected components of ``Y > T``, joined across the seam and the poles;
    the one with the most energy (sum Y d_omega) is the light. Its region is grown by ~W/512 px to take in
    anti-aliased edges, and every pixel there brighter than the surroundings (per-channel median of a ring
    ~W/128 px wide around it) is clamped to that level. The light is exactly the removed energy: direction =
    normalised sum of removed Y * d_omega * d; E = sum of removed Y * max(0, d . direction) * d_omega; colour =
    the same sum of removed RGB / E (luminance 1). The light plus ``pano_without`` hold the panorama's energy.

    Overcast or flat panoramas: the brightest region is barely above its surroundings, so little is removed and
    E comes out small (the SH of ``pano_without`` then carries nearly all the light, as it should). A panorama
    whose maximum is not above the quantile (e.g. uniform) returns E = 0, direction +z, grey colour and the
    panorama itself."""
    H, W = _check_pano(pano)
    if not (0.5 <= quantile < 1 and 0 <= peak_fraction < 1):
        raise ConfigError(f"dominant_light quantile={quantile} / peak_fraction={peak_fraction} out of range; use "
                          f"0.5 <= quantile < 1 and 0 <= peak_fraction < 1")
    pano = np.asarray(pano, np.float32)
    Y = luminance(pano)
    dw = solid_angles(H, W)
    ymax = float(Y.max())
    if not ymax > 0:
        return _no_light(pano)
    T = max(_top_mass_threshold(Y, dw, quantile), peak_fraction * ymax)
    mask = Y > T
    if not mask.any():
        return _no_light(pano)
    n, lab = _wrap_components(mask)
    energy = np.bincount(lab.ravel(), weights=(Y * dw).ravel(), minlength=n)
    energy[0] = -1.0
    comp = lab == int(np.argmax(energy))

    grow = max(1, round(W / 512))
    ring_w = max(2, round(W / 128))
    region = _dilate_wrap(comp, grow)
    ring = _dilate_wrap(comp, grow + ring_w) & ~region
    if not ring.any():                                   # the region covers (nearly) everything: nothing compact
        return _no_light(pano)
    surround = np.median(pano[ring], axis=0).astype(np.float32)
    ys = float(surround @ LUMA.astype(np.float32))
    clamp = region & (Y > ys)
    out = pano.copy()
    out[clamp] = np.minimum(pano[clamp], surround)
    removed = (pano[clamp] - out[clamp]).astype(np.float64)         # (K, 3)
    dY = removed @ LUMA
    d = directions(H, W, rotation)[clamp]                           # (K, 3)
    w = dY * dw[clamp]
    s = (w[:, None] * d).sum(0)
    if not norm(s) > 0:
        return _no_light(pano)
    direction = s / norm(s)
    cosw = np.maximum(d @ direction, 0.0) * dw[clamp]
    E = float((dY * cosw).sum())
    if not E > 0:
        return _no_light(pano)
    colour = (removed * cosw[:, None]).sum(0) / E
    return DominantLight(direction, colour, E, out)


def sphere_integral(pano: np.ndarray) -> float:
    """Integral of luminance over the sphere, sum(Y * d_omega) (radiance x sr): the panorama's total energy.
    Share of a light = 1 - sphere_integral(pano_without) / sphere_integral(pano)."""
    H, W = _check_pano(pano)
    return float((luminance(pano) * solid_angles(H, W)).sum())


# ---------------------------------------------------------------------------------------------- spherical harmonics
# Real SH, order [Y00, Y1-1, Y10, Y11, Y2-2, Y2-1, Y20, Y21, Y22] (y, z, x ordering of band 1, as in Ramamoorthi &
# Hanrahan 2001 and most engines).
_C0 = 0.5 * math.sqrt(1 / math.pi)            # 0.282095
_C1 = math.sqrt(3 / (4 * math.pi))            # 0.488603
_C2 = 0.5 * math.sqrt(15 / math.pi)           # 1.092548  (xy, yz, xz)
_C3 = 0.25 * math.sqrt(5 / math.pi)           # 0.315392  (3z^2 - 1)
_C4 = 0.25 * math.sqrt(15 / math.pi)          # 0.546274  (x^2 - y^2)
# cosine-lobe convolution: A0 = pi, A1 = 2 pi / 3, A2 = pi / 4; folded with the basis constants
_K = (math.pi * _C0, 2 * math.pi / 3 * _C1, math.pi / 4 * _C2, math.pi / 4 * _C3, math.pi / 4 * _C4)


def sh_basis(d: np.ndarray) -> np.ndarray:
    """The 9 real SH basis functions at unit directions ``d (..., 3)`` -> ``(..., 9) float64``."""
    d = np.asarray(d, np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([np.full_like(x, _C0), _C1 * y, _C1 * z, _C1 * x, _C2 * x * y, _C2 * y * z,
                     _C3 * (3 * z * z - 1), _C2 * x * z, _C4 * (x * x - y * y)], axis=-1)


def sh9(pano: np.ndarray, rotation: float = 0.0) -> np.ndarray:
    """Order-2 SH projection of the radiance, world frame: ``(9, 3) float64``, L_lm = sum L(d) Y_lm(d) d_omega.

    pano: (H, W, 3) linear RGB; rotation: radians about +z. Separable (per-row sums of the azimuth harmonics
    1, cos phi, sin phi, cos 2phi, sin 2phi), so it costs one (H*3, W) x (W, 5) product. Multiply by the
    exposure (linear) to get the sample's coefficients."""
    H, W = _check_pano(pano)
    ph = _col_phi(W, rotation)
    F = np.stack([np.ones(W), np.cos(ph), np.sin(ph), np.cos(2 * ph), np.sin(2 * ph)], axis=1)      # (W, 5)
    # float32 BLAS product (relative error ~1e-6 of a row sum), then float64
    rows = np.matmul(np.asarray(pano, np.float32).transpose(0, 2, 1), F.astype(np.float32))       # (H, 3, 5)
    rows = rows.astype(np.float64).transpose(0, 2, 1)                                            # (H, 5, 3)
    th = _row_theta(H)
    dw = solid_angles(H, W)[:, 0]
    st, ct = np.sin(th), np.cos(th)
    g = lambda a: (a * dw)[:, None]                                                                # noqa: E731
    one, cp, sp, c2p, s2p = (rows[:, k] for k in range(5))
    return np.stack([
        (g(_C0 * np.ones(H)) * one).sum(0),
        (g(_C1 * st) * sp).sum(0),
        (g(_C1 * ct) * one).sum(0),
        (g(_C1 * st) * cp).sum(0),
        (g(0.5 * _C2 * st * st) * s2p).sum(0),          # xy = sin^2 cos sin = sin^2 sin(2phi) / 2
        (g(_C2 * st * ct) * sp).sum(0),
        (g(_C3 * (3 * ct * ct - 1)) * one).sum(0),
        (g(_C2 * st * ct) * cp).sum(0),
        (g(_C4 * st * st) * c2p).sum(0),                # x^2 - y^2 = sin^2 cos(2phi)
    ])


def sh_irradiance(coeffs: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Irradiance E(n) from SH radiance coefficients (Ramamoorthi & Hanrahan 2001): ``(N, 3) float64``, clamped
    at 0 (order-2 ringing can dip below 0 opposite a strong light).

    coeffs: (9, 3) from :func:`sh9`; normals: (N, 3) world, normalised here. Diffuse outgoing radiance of a
    Lambertian surface = albedo * E / pi. Same arithmetic as :data:`SH_IRRADIANCE_GLSL` (its numpy twin)."""
    L = np.asarray(coeffs, np.float64).reshape(9, 3)
    n = np.asarray(normals, np.float64).reshape(-1, 3)
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    x, y, z = (n[:, i:i + 1] for i in range(3))
    e = (_K[0] * L[0]
         + _K[1] * (L[1] * y + L[2] * z + L[3] * x)
         + _K[2] * (L[4] * (x * y) + L[5] * (y * z) + L[7] * (x * z))
         + _K[3] * L[6] * (3.0 * z * z - 1.0)
         + _K[4] * L[8] * (x * x - y * y))
    return np.maximum(e, 0.0)


SH_IRRADIANCE_GLSL = f"""// simgen.scene.panorama: irradiance from order-2 SH (Ramamoorthi & Hanrahan 2001).
// sh[0..8] = sh9(pano, rotation) * exposure, order Y00, Y1-1, Y10, Y11, Y2-2, Y2-1, Y20, Y21, Y22.
// n: WORLD-frame normal (z up). Lambertian radiance = albedo * sh_irradiance(n) / pi.
uniform vec3 sh[9];
vec3 sh_irradiance(vec3 n) {{
    n = normalize(n);
    vec3 e = {_K[0]!r} * sh[0]
           + {_K[1]!r} * (sh[1] * n.y + sh[2] * n.z + sh[3] * n.x)
           + {_K[2]!r} * (sh[4] * (n.x * n.y) + sh[5] * (n.y * n.z) + sh[7] * (n.x * n.z))
           + {_K[3]!r} * sh[6] * (3.0 * n.z * n.z - 1.0)
           + {_K[4]!r} * sh[8] * (n.x * n.x - n.y * n.y);
    return max(e, vec3(0.0));
}}
"""


def irradiance_brute(pano: np.ndarray, normals: np.ndarray, rotation: float = 0.0) -> np.ndarray:
    """Reference irradiance by direct cosine integration over every pixel: ``(N, 3) float64``,
    E(n) = sum L(d) max(0, n . d) d_omega. Cost N x H x W (at most 2e9 operations allowed)."""
    H, W = _check_pano(pano)
    n = np.asarray(normals, np.float64).reshape(-1, 3)
    if len(n) * H * W > 2e9:
        raise ConfigError(f"irradiance_brute: {len(n)} normals x {H}x{W} pixels is too much; downscale the pano")
    n = n / np.linalg.norm(n, axis=1, keepdims=True)
    d = directions(H, W, rotation).reshape(-1, 3)
    Lw = np.asarray(pano, np.float64).reshape(-1, 3) * solid_angles(H, W).reshape(-1, 1)
    out = np.empty((len(n), 3))
    for i in range(0, len(n), 64):
        cos = np.maximum(n[i:i + 64] @ d.T, 0.0)
        out[i:i + 64] = cos @ Lw
    return out


# ---------------------------------------------------------------------------------------------- exposure
def auto_exposure(pano: np.ndarray, method: str = "log_average", key: float = MIDDLE_GREY) -> float:
    """Linear exposure multiplier so panoramas look alike; the randomization family multiplies it by a random
    factor.

    ``log_average`` (default): ``key / exp(mean over the sphere of ln(delta + Y))`` (solid-angle weighted;
    Reinhard et al. 2002's "key"; delta = 1e-4 x mean Y keeps black pixels finite and the result scale-free:
    ``auto_exposure(k * pano) == auto_exposure(pano) / k``). The geometric mean follows what most of the
    panorama looks like, which is what the background shows: the sun (1e-4 of the sphere, ~60-70 % of the
    energy of a sunny sky) barely moves it, whereas an arithmetic mean would be dominated by it and render every
    sunny background nearly black.
    ``incident``: incident-light metering, ``pi / E_up`` with E_up the irradiance of an upward-facing surface
    (sun included): an 18 % grey card on the table then shows radiance 0.18. Objects look alike across
    panoramas; backgrounds of sunny scenes come out darker."""
    H, W = _check_pano(pano)
    Y = luminance(pano)
    dw = solid_angles(H, W)
    mean = float((Y * dw).sum() / (4 * np.pi))
    if not mean > 0:
        raise AssetError("panorama is black (zero luminance everywhere); use another panorama")
    if method == "log_average":
        return float(key / np.exp((np.log(1e-4 * mean + Y) * dw).sum() / (4 * np.pi)))
    if method == "incident":
        # exact cosine-weighted solid angle of each row's upper-hemisphere part: (pi / W)(sin^2 t1 - sin^2 t0)
        t = np.minimum(np.arange(H + 1) * (np.pi / H), np.pi / 2)
        row_cos = (np.pi / W) * np.diff(np.sin(t) ** 2)
        e_up = float((Y * row_cos[:, None]).sum())
        return float(math.pi * key / MIDDLE_GREY / e_up) if e_up > 0 else float(key / mean)
    raise ConfigError(f"auto_exposure method={method!r} is unknown; use 'log_average' or 'incident'")


# ---------------------------------------------------------------------------------------------- per sample
@dataclass(frozen=True)
class EnvLighting:
    """What the raster renderer needs for one sample (exposure and rotation applied).

    direction: (3,) world unit vector toward the directional light; colour: (3,) luminance-1 RGB;
    irradiance: luminance irradiance E of the light (RGB irradiance = irradiance * colour);
    sh: (9, 3) SH radiance of the panorama without that light; share: the light's share of the panorama's energy.

    In pyrender (mesh.frag: ``nl * intensity * color * (c_diff / PI + specular)``) the light's intensity IS an
    irradiance: ``DirectionalLight(color=colour, intensity=irradiance)`` on a node whose +z axis is ``direction``
    (pyrender lights shine along the node's -z). The SH replace the constant ``ambient_light`` term: in the
    fragment shader, ``color.xyz += base_color.xyz * sh_irradiance(n) / PI`` with ``n`` pyrender's world-space
    normal and ``sh`` uploaded as the ``vec3 sh[9]`` uniform (see :data:`SH_IRRADIANCE_GLSL`)."""

    direction: np.ndarray
    colour: np.ndarray
    irradiance: float
    sh: np.ndarray
    share: float


@lru_cache(maxsize=16)
def _base_lighting(key: tuple) -> tuple[DominantLight, float]:
    path, _size, _mtime, max_width = key
    pano = load_panorama(path, max_width=max_width)
    light = dominant_light(pano, 0.0)
    light.pano_without.flags.writeable = False
    share = 1.0 - sphere_integral(light.pano_without) / max(sphere_integral(pano), 1e-300)
    return light, share


def env_lighting(env: Envmap, *, max_width: int = 1024) -> EnvLighting:
    """Directional light + SH for ``env`` (its rotation and exposure applied). The light search runs once per
    file and process (cached, rotation-free); each call then costs one :func:`sh9` (a few ms at 1K)."""
    p = Path(env.path)
    try:
        st = p.stat()
    except OSError:
        raise AssetError(f"panorama {p} is missing; fix the envmap path") from None
    light, share = _base_lighting((str(p.resolve()), st.st_size, st.st_mtime_ns, int(max_width)))
    return EnvLighting(direction=rot_z(env.rotation) @ light.direction, colour=light.colour.copy(),
                       irradiance=light.irradiance * env.exposure,
                       sh=sh9(light.pano_without, env.rotation) * env.exposure, share=share)
