"""The README's before/after figure: the same samples under today's default, all realism on (raster), and all on
path traced (render.backend=mitsuba). Object poses are the same in every column (each family draws from its own
stream); what changes is how the world around them looks.

    python benchmarks/realism_figure.py --ycb ../shared/ycb --textures ../shared/textures \
        --out docs/gallery/realism_before_after.jpg --samples 3 5
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def render(overrides: list[str], samples: list[int]) -> list[np.ndarray]:
    from simgen.cli.api import compose
    from simgen.run.worker import Generator

    cfg = compose("render", overrides)
    with Generator(cfg) as g:
        return [g.generate(i).rgb for i in samples]


def main() -> None:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ycb", required=True)
    ap.add_argument("--textures", required=True)
    ap.add_argument("--out", default="docs/gallery/realism_before_after.jpg")
    ap.add_argument("--samples", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--no-pathtrace", action="store_true")
    ap.add_argument("--width", type=int, default=480)
    a = ap.parse_args()
    w, h = a.width, a.width * 3 // 4
    base = ["scene=ycb_video", f"assets.root={a.ycb}", f"assets.textures={a.textures}", f"render.width={w}",
            f"render.height={h}", "seed=0"]
    cols = [("today's default", base + ["+realism=default"]),
            ("all on (raster)", base)]
    if not a.no_pathtrace:
        cols.append(("all on (path traced, 16 spp + OIDN)", base + ["render.backend=mitsuba"]))
    rendered = [(name, render(ov, a.samples)) for name, ov in cols]
    pad, top = 6, 30
    sheet = np.full((top + len(a.samples) * (h + pad), len(cols) * (w + pad) + pad, 3), 24, np.uint8)
    for c, (name, imgs) in enumerate(rendered):
        x = pad + c * (w + pad)
        cv2.putText(sheet, name, (x, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (235, 235, 235), 1, cv2.LINE_AA)
        for r, img in enumerate(imgs):
            y = top + r * (h + pad)
            sheet[y:y + h, x:x + w] = img
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(a.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88, cv2.IMWRITE_PNG_COMPRESSION, 9])
    print("wrote", a.out)


if __name__ == "__main__":
    main()
