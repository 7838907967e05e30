"""Atomic file writes: write to a temporary name in the same folder, fsync-free rename into place."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from simgen.errors import OutputError


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = _tmp(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; free disk space or fix permissions, "
                          f"then run the same command again to resume") from None


def write_json(path: Path, obj: Any, indent: int | None = None) -> None:
    text = json.dumps(obj, indent=indent, separators=(",", ": ") if indent else (",", ":"), allow_nan=False)
    write_bytes(path, (text + "\n").encode("utf-8"))


PNG_STRATEGIES = ("rle", "default", "filtered", "huffman")
PNG_FILTERS = ("avg", "sub", "up", "paeth", "none", "adaptive")


def write_png(path: Path, image, compression: int = 1, strategy: str = "rle", png_filter: str = "avg") -> None:
    """image: (H, W, 3) uint8 RGB, or (H, W) uint8/uint16.

    ``strategy`` is zlib's: ``rle`` (matches of distance 1 only) is both faster and smaller than ``default`` on
    rendered images with sensor noise (measured at 640x480: 15 vs 18 ms, 423 vs 502 KB) and on depth and id maps.
    ``png_filter``: one fixed row filter (``avg``) instead of libpng's per-row ``adaptive`` choice halves the
    encoding time again (RGB 15.3 -> 7.7 ms, depth 4.8 -> 2.2 ms) for files at most 3% larger.
    """
    import cv2
    import numpy as np

    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    codes = {"rle": cv2.IMWRITE_PNG_STRATEGY_RLE, "default": cv2.IMWRITE_PNG_STRATEGY_DEFAULT,
             "filtered": cv2.IMWRITE_PNG_STRATEGY_FILTERED, "huffman": cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY}
    params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression), cv2.IMWRITE_PNG_STRATEGY, codes[strategy]]
    if png_filter != "adaptive" and hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.11
        params += [cv2.IMWRITE_PNG_FILTER, getattr(cv2, f"IMWRITE_PNG_FILTER_{png_filter.upper()}")]
    ok, buf = cv2.imencode(".png", arr, params)
    if not ok:
        raise OutputError(f"PNG encoding failed for {path}")
    write_bytes(path, buf.tobytes())
