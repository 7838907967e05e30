"""Photographic surface textures as data: listing, bounded validation, cached loading, real-world tile sizes, UVs.

Engine-free (numpy + OpenCV). The lead's renderer and randomization families call these; nothing here is random:
a family draws the tile size (``rng.uniform(*tile_size_m(path))``), an offset and an angle, and passes them in.

Texture coordinates follow the OpenGL/glTF-as-pyrender-uploads-it convention used by simgen's meshes: ``u`` runs
left -> right across the image, ``v`` runs bottom -> top (pyrender flips the image rows on upload), and the
texture repeats (``GL_REPEAT``) outside 0..1. A UV of ``position_m / tile_m`` therefore shows one copy of the
image per ``tile_m`` metres, whatever the size of the mesh.

Tile sizes (metres covered by one image) come from :data:`ASSET_TILE_M` where the picture holds countable units
of known size (brick courses, pavers, tiles, planks; the counts are in the table's comments) and from
:data:`CATEGORY_TILE_M` otherwise. The asset pages of the sources (ambientCG, Poly Haven) were not reachable
from this machine, so no number here is copied from them: they are estimates, stated as ranges.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from simgen.errors import AssetError, ConfigError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_FILES = 2000                      # files one texture folder may hold
MAX_FILE_BYTES = 64 * 2**20           # bytes per texture file
MAX_PIXELS = 8192 * 8192              # decoded pixels per texture
CACHE_BYTES = 256 * 2**20             # decoded textures kept per process

# ---------------------------------------------------------------------------------------------- tile sizes (m)
# Metres that ONE image covers (its longer side), as a (lo, hi) range to draw from. Category = the filename's
# text before the first underscore (``<category>_<asset>.jpg``).
CATEGORY_TILE_M: dict[str, tuple[float, float]] = {
    "wood": (0.6, 1.2),       # boards / veneer: 6-8 boards of 100-150 mm across (counted on the planks below)
    "woodfloor": (1.2, 2.0),  # floor strips 60-90 mm wide, 20+ per image
    "floor": (1.0, 2.0),
    "tiles": (0.8, 2.0),      # 7-13 tiles/rows of 75-300 mm (see the per-asset rows)
    "brick": (1.0, 2.0),      # 13-20 courses of 75 mm (65 mm brick + 10 mm joint)
    "concrete": (1.0, 3.0),   # no countable units: a typical photo-scan footprint
    "plaster": (1.0, 3.0),
    "asphalt": (1.0, 3.0),
    "ground": (1.0, 3.0),
    "stone": (1.0, 2.5),      # rubble-wall stones of 100-250 mm, ~10 across
    "marble": (0.6, 1.5),     # a slab section
    "metal": (0.5, 1.0),
    "fabric": (0.3, 0.6),     # weave / quilting visible at arm's length
    "leather": (0.3, 0.6),
    "foam": (0.3, 0.6),       # acoustic foam panels are 0.3-0.6 m
}
DEFAULT_TILE_M = (0.5, 2.0)

# Per-asset ranges from counting units of known size in the shared bank (1024 px images, counted on 512 px views).
ASSET_TILE_M: dict[str, tuple[float, float]] = {
    "brick_brick_wall_001": (0.9, 1.1),        # 13.5 courses x 75 mm; 4 stretchers x 225 mm across
    "brick_brick_wall_02": (1.4, 1.6),         # 20 courses x 75 mm (FFT of the row profile: 20 cycles)
    "brick_brick_floor_003": (1.5, 2.0),       # 18 rows of 100 mm pavers, 11.5 x 150 mm across
    "ground_pavingstones098": (1.4, 1.8),      # herringbone, 8 pavers of 200 mm along a side
    "tiles_blue_floor_tiles_01": (1.1, 1.5),   # 13 rows of 100 mm setts, 6.5 x 200 mm across
    "tiles_brown_floor_tiles": (1.4, 2.1),     # 7 x 7 square tiles of 200-300 mm
    "tiles_tiles032": (0.9, 1.2),              # 12 rows of 75-100 mm metro tiles (FFT: 12 cycles)
    "tiles_facade005_glass": (0.6, 1.0),       # 32 x 24 mosaic pieces of 20-30 mm
    "woodfloor_planks020": (1.3, 2.0),         # 22 strips of 60-90 mm
    "wood_blue_painted_planks": (0.8, 1.2),    # 8 boards of 100-150 mm
    "wood_beam_wall_01": (0.9, 1.2),           # 6 beams of 150-200 mm
    "wood_black_painted_planks": (0.85, 1.05), # 7 boards of 120-150 mm
    "fabric_fabric048": (0.4, 0.6),            # 8 quilted squares of 50-75 mm
    "fabric_fabric049": (0.4, 0.6),            # 8 quilted squares of 50-75 mm
}


# ---------------------------------------------------------------------------------------------- bounded reading
class _ByteLRU:
    """Thread-safe LRU of read-only numpy arrays bounded by total bytes (an entry larger than the bound is not kept)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._d: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_make(self, key, make: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        arr = make()
        arr.flags.writeable = False
        with self._lock:
            if key not in self._d and arr.nbytes <= self.max_bytes:
                self._d[key] = arr
                self._bytes += arr.nbytes
                while self._bytes > self.max_bytes:
                    _, old = self._d.popitem(last=False)
                    self._bytes -= old.nbytes
        return arr

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self._bytes = 0


_TEXTURES = _ByteLRU(CACHE_BYTES)


def clear_cache() -> None:
    """Forget every decoded texture this process keeps."""
    _TEXTURES.clear()


def read_bounded(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of ``path``; AssetError when it is missing, unreadable, empty or larger than ``max_bytes``."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise AssetError(f"{what} {path} cannot be read ({e.strerror}); fix the path or the file") from None
    if not path.is_file():
        raise AssetError(f"{what} {path} is not a file; point to an image file")
    if size == 0:
        raise AssetError(f"{what} {path} is empty (0 bytes); replace or remove the file")
    if size > max_bytes:
        raise AssetError(f"{what} {path} is {size / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB "
                         f"allowed; downscale it or remove it from the folder")
    try:
        return path.read_bytes()
    except OSError as e:
        raise AssetError(f"{what} {path} cannot be read ({e.strerror}); fix its permissions or remove it") from None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding pixels; None when the header is not understood."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        i, n = 2, len(data)
        while i + 4 <= n:
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:                      # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:   # standalone markers
                i += 2
                continue
            if marker in (0xD9, 0xDA):              # end of image / start of scan before any frame header
                return None
            seg = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if i + 9 > n:
                    return None
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return int(w), int(h)
            i += 2 + seg
    return None


def _decode_rgb(path: Path, data: bytes, max_pixels: int) -> np.ndarray:
    import cv2

    size = image_size(data)
    if size is None:
        raise AssetError(f"texture {path} is not a PNG or JPEG file (unreadable header); re-save it as .jpg or .png")
    w, h = size
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise AssetError(f"texture {path} is {w}x{h} pixels, more than the {max_pixels} allowed (or empty); "
                         f"downscale it or remove it from the folder")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.shape[0] != h or img.shape[1] != w:
        raise AssetError(f"texture {path} does not decode (truncated or corrupt image); re-export or remove it")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------------------------------------- public API
def list_files(folder, suffixes: Sequence[str], *, key: str, what: str, max_files: int) -> list[Path]:
    """Files of ``folder`` (not recursive) whose suffix is in ``suffixes`` (case-insensitive), sorted by name.

    ConfigError naming ``key`` (the config key that gave the folder) when the folder is missing, holds none, or
    holds more than ``max_files``."""
    if folder is None or str(folder) == "":
        raise ConfigError(f"{key} is empty; set it to a folder of {what} files")
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise ConfigError(f"{key}={str(folder)!r} is not a folder; set it to a folder of {what} files")
    out = []
    for f in p.iterdir():
        if f.suffix.lower() in suffixes and f.is_file():
            out.append(f)
            if len(out) > max_files:
                raise ConfigError(f"{key}={str(folder)!r} holds more than {max_files} {what} files; point it to a "
                                  f"smaller folder")
    if not out:
        raise ConfigError(f"{key}={str(folder)!r} holds no {what} files ({', '.join(suffixes)}); add some or fix "
                          f"the path")
    return sorted(out, key=lambda f: f.name)


def list_textures(folder, *, key: str = "randomization.background.texture_dir",
                  max_files: int = MAX_FILES) -> list[Path]:
    """Image files (.jpg/.jpeg/.png, any case) directly in ``folder``, sorted by file name, at most ``max_files``.

    ``key`` is the config key the folder came from; it names the problem in the one-line ConfigError raised when
    the folder is missing, empty or too large."""
    return list_files(folder, IMAGE_SUFFIXES, key=key, what="texture image", max_files=max_files)


def validate_textures(paths: Iterable, *, max_bytes: int = MAX_FILE_BYTES,
                      max_pixels: int = MAX_PIXELS) -> list[tuple[int, int]]:
    """Decode every file (fully: a truncated JPEG fails here, not in a worker) and return their (width, height).

    Bounds: ``max_bytes`` per file (checked before reading) and ``max_pixels`` (checked from the header, before
    decoding). Raises a one-line AssetError naming the first bad file and the fix. Nothing is cached."""
    t0 = time.perf_counter()
    sizes = []
    for p in paths:
        p = Path(p)
        img = _decode_rgb(p, read_bounded(p, max_bytes, "texture"), max_pixels)
        sizes.append((int(img.shape[1]), int(img.shape[0])))
    log.info("validated %d textures in %.2f s", len(sizes), time.perf_counter() - t0)
    return sizes


def load_texture(path, max_size: int = 1024, *, max_bytes: int = MAX_FILE_BYTES,
                 max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3) uint8`` RGB, downscaled (INTER_AREA) so its longer side is at most
    ``max_size`` (never upscaled; aspect kept).

    Cached per process (key: resolved path, file size and mtime, ``max_size``; at most :data:`CACHE_BYTES`), so
    the result is READ-ONLY: copy it before modifying. AssetError (one line) for a bad file."""
    import cv2

    if not 1 <= int(max_size) <= 16384:
        raise ConfigError(f"texture max_size={max_size} is out of range; use 1..16384 pixels")
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise AssetError(f"texture {p} is missing; fix the path or remove it from the list") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, int(max_size))

    def make() -> np.ndarray:
        img = _decode_rgb(p, read_bounded(p, max_bytes, "texture"), max_pixels)
        h, w = img.shape[:2]
        s = max(h, w)
        if s > max_size:
            f = max_size / s
            img = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(img)

    return _TEXTURES.get_or_make(key, make)


def texture_category(path) -> str:
    """The filename's category: text before the first underscore of the stem (``wood_planks.jpg`` -> ``wood``)."""
    return Path(path).stem.split("_", 1)[0].lower()


def tile_size_m(path, overrides: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """(lo, hi) metres that one copy of the texture image covers (its longer side).

    Lookup order: ``overrides[stem]``, ``overrides[category]``, :data:`ASSET_TILE_M` [stem],
    :data:`CATEGORY_TILE_M` [category], :data:`DEFAULT_TILE_M`. A family draws a size in the range with its rng."""
    stem = Path(path).stem.lower()
    cat = texture_category(path)
    for table, k in ((overrides or {}, stem), (overrides or {}, cat), (ASSET_TILE_M, stem), (CATEGORY_TILE_M, cat)):
        if k in table:
            lo, hi = (float(v) for v in table[k])
            if not (0 < lo <= hi < 1e3):
                raise ConfigError(f"tile size for {k!r} is ({lo}, {hi}); use 0 < lo <= hi metres")
            return lo, hi
    return DEFAULT_TILE_M


def _check_tile(tile_m) -> np.ndarray:
    t = np.broadcast_to(np.asarray(tile_m, np.float64), (2,)).copy()
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ConfigError(f"tile size {tile_m!r} must be positive metres (a number or (u, v))")
    return t


def planar_uv(points_xy_m: np.ndarray, tile_m, *, offset_m=(0.0, 0.0), angle: float = 0.0) -> np.ndarray:
    """Texture coordinates of points on a plane: ``(N, 2) float32``.

    points_xy_m: (N, 2) positions in the plane, metres (for the table top: world x, y). The points are rotated by
    ``-angle`` (radians; the texture turns by ``+angle`` about the plane normal) and shifted by ``offset_m``
    (metres, along the rotated axes), then divided by ``tile_m`` (metres per image copy; a number, or (u, v) for
    a non-square image: its (width, height) in metres). Seen from the +normal side with x right and y up, the
    image appears upright and unmirrored."""
    p = np.asarray(points_xy_m, np.float64).reshape(-1, 2)
    t = _check_tile(tile_m)
    c, s = np.cos(angle), np.sin(angle)
    u = c * p[:, 0] + s * p[:, 1]
    v = -s * p[:, 0] + c * p[:, 1]
    off = np.asarray(offset_m, np.float64).reshape(2)
    return np.stack([(u + off[0]) / t[0], (v + off[1]) / t[1]], axis=1).astype(np.float32)


# Box projection frames (tangent t, bitangent b) per dominant axis and sign, with t x b = outward normal, so no
# face shows a mirrored image; side faces have b = +z (the image's up is the world's up).
_BOX_FRAMES = {
    (0, 1): ((0, 1, 0), (0, 0, 1)), (0, -1): ((0, -1, 0), (0, 0, 1)),
    (1, 1): ((-1, 0, 0), (0, 0, 1)), (1, -1): ((1, 0, 0), (0, 0, 1)),
    (2, 1): ((1, 0, 0), (0, 1, 0)), (2, -1): ((-1, 0, 0), (0, 1, 0)),
}


def _box_project(points: np.ndarray, normals: np.ndarray, t: np.ndarray) -> np.ndarray:
    axis = np.argmax(np.abs(normals), axis=1)
    sign = np.where(normals[np.arange(len(normals)), axis] >= 0, 1, -1)
    uv = np.empty((len(points), 2), np.float64)
    for (a, sg), (tu, tv) in _BOX_FRAMES.items():
        m = (axis == a) & (sign == sg)
        if np.any(m):
            uv[m, 0] = points[m] @ np.asarray(tu, np.float64)
            uv[m, 1] = points[m] @ np.asarray(tv, np.float64)
    return (uv / t).astype(np.float32)


def triplanar_uv(vertices: np.ndarray, normals: np.ndarray, tile_m) -> np.ndarray:
    """Box ("triplanar") projection UVs in real-world units: ``(N, 2) float32``.

    vertices: (N, 3) metres (object frame, scaled to its real size); normals: (N, 3). Each vertex is projected
    on the plane of its normal's dominant axis (a right-handed frame per face direction, so nothing is mirrored;
    on side faces the image's up is +z) and divided by ``tile_m`` (metres per image copy, a number or (u, v)).

    With per-vertex normals, a vertex shared by faces of different dominant axes gets ONE projection and the
    faces around it smear the texture; use :func:`triplanar_uv_faces` (unshared corners) for boxy meshes."""
    v = np.asarray(vertices, np.float64).reshape(-1, 3)
    n = np.asarray(normals, np.float64).reshape(-1, 3)
    if len(v) != len(n):
        raise ConfigError(f"triplanar_uv got {len(v)} vertices and {len(n)} normals; pass one normal per vertex")
    return _box_project(v, n, _check_tile(tile_m))


def triplanar_uv_faces(vertices: np.ndarray, faces: np.ndarray, tile_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box projection per FACE, on unshared corners: returns ``(vertices (3F, 3) float32, faces (F, 3) int32,
    uv (3F, 2) float32)``.

    vertices: (V, 3) metres; faces: (F, 3) int. Each face picks the dominant axis of its own (geometric) normal,
    so edges between differently projected faces get a clean cut instead of a smear. The caller recomputes or
    carries over vertex normals (e.g. trimesh with ``process=False``)."""
    v = np.asarray(vertices, np.float64).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if f.size and (f.min() < 0 or f.max() >= len(v)):
        raise ConfigError("triplanar_uv_faces: a face indexes a missing vertex; fix the mesh")
    tri = v[f]                                                 # (F, 3, 3)
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    corners = tri.reshape(-1, 3)
    uv = _box_project(corners, np.repeat(fn, 3, axis=0), _check_tile(tile_m))
    return corners.astype(np.float32), np.arange(len(corners), dtype=np.int32).reshape(-1, 3), uv


# ---------------------------------------------------------------------------------------------- seams
def seam_excess(img: np.ndarray) -> tuple[float, float]:
    """How much the wrap-around edges of ``img`` ((H, W, 3) or (H, W) uint8) differ beyond an ordinary pixel step:
    (mean |I[:, 0] - I[:, -1]| - mean |horizontal step|, same vertically), in 8-bit levels.

    About 0 for a tileable image; a few levels is a visible seam on a smooth texture. Caveat: a structural line
    (tile joint, board edge) lying exactly on the image border also scores high while tiling perfectly."""
    a = np.asarray(img, np.float32)
    ex = float(np.abs(a[:, 0] - a[:, -1]).mean() - np.abs(np.diff(a, axis=1)).mean())
    ey = float(np.abs(a[0] - a[-1]).mean() - np.abs(np.diff(a, axis=0)).mean())
    return ex, ey


def mirror_tile(img: np.ndarray) -> np.ndarray:
    """A seamless (2H, 2W, ...) tile made of ``img`` and its mirror images (left-right, up-down, both).

    Every edge meets its own mirror, so the result repeats without seams; the price is a visible symmetry.
    Twice the size: the caller doubles the tile size (one copy of ``img`` keeps covering ``tile_m``)."""
    a = np.asarray(img)
    top = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.concatenate([top, top[::-1]], axis=0))


def crossfade_tile(img: np.ndarray, band: float = 0.15) -> np.ndarray:
    """A seamless tile of the same size as ``img`` ((H, W, C) or (H, W) uint8): near each border the image is
    blended with itself shifted by half its size (whose borders continue across the wrap), over ``band`` of the
    size (0 < band <= 0.5). The centre is untouched; features in the bands are ghosted (two copies blended)."""
    if not 0 < band <= 0.5:
        raise ConfigError(f"crossfade band={band} is out of range; use 0 < band <= 0.5")
    a = np.asarray(img)
    h, w = a.shape[:2]
    shifted = np.roll(a, (h // 2, w // 2), axis=(0, 1)).astype(np.float32)

    def ramp(n: int) -> np.ndarray:
        x = (np.arange(n) + 0.5) / n
        d = np.minimum(x, 1 - x) / band            # distance to the nearest border in bands
        return np.clip(d, 0, 1)

    wgt = np.minimum(ramp(h)[:, None], ramp(w)[None, :])
    wgt = wgt * wgt * (3 - 2 * wgt)                # smoothstep
    if a.ndim == 3:
        wgt = wgt[..., None]
    out = a.astype(np.float32) * wgt + shifted * (1 - wgt)
    return np.clip(np.rint(out), 0, 255).astype(a.dtype)
