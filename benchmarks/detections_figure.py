"""Drawn detections on the real dev photos, one experiment row above the other (docs/sim2real.md):

    python benchmarks/detections_figure.py --out docs/gallery/detections_default_vs_allon.jpg \
        "today's default=<job dir>" "all on=<job dir>"

Each job dir is a `simgen experiment` job folder; its score/detections_real.png (drawn by `simgen score`:
green = ground truth, red = detections with score >= score.draw_threshold) gets a title bar with the row's name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def titled(img: np.ndarray, title: str) -> np.ndarray:
    bar = np.full((36, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
    return np.vstack([bar, img])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="+", help="name=job dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--width", type=int, default=1200)
    args = ap.parse_args()
    panels = []
    for row in args.rows:
        name, _, job = row.partition("=")
        img = cv2.imread(str(Path(job) / "score" / "detections_real.png"), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"no score/detections_real.png in {job}")
        h = round(img.shape[0] * args.width / img.shape[1])
        panels.append(titled(cv2.resize(img, (args.width, h), interpolation=cv2.INTER_AREA), name))
    cv2.imwrite(args.out, np.vstack(panels), [cv2.IMWRITE_JPEG_QUALITY, 82])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
