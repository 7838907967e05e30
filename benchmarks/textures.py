"""The surface texture bank under simgen.scene.texture_bank: validation time, tile sizes, seams, a tiled sheet.

    python benchmarks/textures.py [--dir $SIMGEN_SHARED/textures/surfaces] [--out textures.png]

Prints the time to validate (fully decode) every file, then per file its size, category, tile size range (and
whether it comes from the per-asset table) and the seam excess (wrap-around edge difference beyond an ordinary
pixel step, 8-bit levels; a joint or board edge lying on the border scores high while tiling perfectly). The
sheet shows every texture tiled 2 x 2 (each copy 160 px) so seams would show as lines through the middle.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from simgen.scene import texture_bank as tb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(Path(os.environ.get("SIMGEN_SHARED", REPO.parent / "shared")) / "textures"
                                         / "surfaces"))
    ap.add_argument("--out", default="textures.png")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log = logging.getLogger("textures")

    paths = tb.list_textures(args.dir)
    t0 = time.perf_counter()
    sizes = tb.validate_textures(paths)
    dt = time.perf_counter() - t0
    log.info("validate_textures: %d files in %.2f s (%.1f ms/file)", len(paths), dt, 1e3 * dt / len(paths))
    tb.clear_cache()
    t0 = time.perf_counter()
    for p in paths:
        tb.load_texture(p, 512)
    log.info("load_texture(max_size=512), cold: %.1f ms/file", 1e3 * (time.perf_counter() - t0) / len(paths))

    tiles = []
    for p, (w, h) in zip(paths, sizes):
        img = tb.load_texture(p, 1024)
        ex, ey = tb.seam_excess(img)
        lo, hi = tb.tile_size_m(p)
        src = "asset" if p.stem.lower() in tb.ASSET_TILE_M else "category"
        log.info(f"{p.name:40s} {w:4d}x{h:<4d} {tb.texture_category(p):10s} {lo:4.2f}-{hi:4.2f} m ({src:8s}) "
                 f"seam x {ex:5.1f} y {ey:5.1f}")
        t = cv2.resize(np.ascontiguousarray(img[..., ::-1]), (160, 160), interpolation=cv2.INTER_AREA)
        t = np.tile(t, (2, 2, 1))
        cv2.putText(t, p.stem[:34], (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 3)
        cv2.putText(t, p.stem[:34], (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1)
        tiles.append(t)
    cols = 8
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)])
    cv2.imwrite(args.out, sheet)
    log.info("wrote %s (%dx%d)", args.out, sheet.shape[1], sheet.shape[0])


if __name__ == "__main__":
    main()
