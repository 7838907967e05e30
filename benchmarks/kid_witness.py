"""Which synthetic images make KID large? Rank them by KID's witness function and draw the ends (docs/sim2real.md,
"Seen like YCB-Video").

    python benchmarks/kid_witness.py ../shared/real/ycbv_dev <folder of synthetic images> [--n 200] [--out out/witness]

KID is the squared MMD between the two sets' Inception features with the cubic kernel k(x, y) = (x.y / D + 1)^3. Its
witness function w(x) = mean over real r of k(x, r) - mean over synthetic s of k(x, s) is large where the real photos
are denser than the synthetic images and small (negative) where the synthetic set has mass the photos lack: the
images with the lowest w are the ones KID counts against the set. Same extractor and resize as
`simgen score score=fid_only`. Writes `witness.json` (every image with its w, lowest first), `farthest.png` and
`nearest.png` (12 images each) and `witness.jpg` (4 of each, labelled); about 30 s per 200 images on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from simgen.eval.fid import ImageItem, extract_features, load_item, make_extractor, sample_items


def witness(synthetic: np.ndarray, real: np.ndarray) -> np.ndarray:
    """w(x) for every synthetic feature row x (self-similarity k(x, x) left out of the synthetic mean)."""
    d = synthetic.shape[1]
    kxr = (synthetic @ real.T / d + 1) ** 3
    kxs = (synthetic @ synthetic.T / d + 1) ** 3
    n = len(synthetic)
    return kxr.mean(1) - (kxs.sum(1) - np.diag(kxs)) / max(n - 1, 1)


def _sheet(paths: list[str], cols: int, label: str | None = None) -> np.ndarray:
    import cv2

    tiles = [cv2.resize(cv2.imread(p), (320, 240), interpolation=cv2.INTER_AREA) for p in paths]
    rows = [np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles) - len(tiles) % cols, cols)]
    img = np.vstack(rows)
    if label:
        cv2.rectangle(img, (0, 0), (9 * len(label) + 16, 30), (0, 0, 0), -1)
        cv2.putText(img, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main() -> None:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("real_dir", type=Path, help="a COCO folder of real photos (images/ inside) or a folder of images")
    ap.add_argument("synthetic_dir", type=Path, help="a folder of synthetic .png images (or a job folder)")
    ap.add_argument("--n", type=int, default=200, help="synthetic images (seeded subset)")
    ap.add_argument("--out", type=Path, default=Path("out/witness"))
    args = ap.parse_args()
    real_dir = args.real_dir / "images" if (args.real_dir / "images").is_dir() else args.real_dir
    syn_dir = args.synthetic_dir / "images" if (args.synthetic_dir / "images").is_dir() else args.synthetic_dir
    real = [ImageItem(p) for p in sorted(real_dir.glob("*.png")) + sorted(real_dir.glob("*.jpg"))]
    syn = sample_items([ImageItem(p) for p in sorted(syn_dir.glob("*.png"))], args.n, np.random.default_rng(0))
    if len(real) < 2 or len(syn) < 8:
        raise SystemExit(f"need 2+ real images in {real_dir} and 8+ synthetic .png in {syn_dir}; "
                         f"found {len(real)} and {len(syn)}")
    ex = make_extractor("inception")
    feats = lambda items: extract_features((load_item(i) for i in items), ex, resize="bilinear_aa",  # noqa: E731
                                           batch_size=8)
    w = witness(feats(syn), feats(real))
    order = np.argsort(w, kind="stable")
    ranked = [(str(syn[i].path), float(w[i])) for i in order]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "witness.json").write_text(json.dumps({"real_dir": str(real_dir), "synthetic_dir": str(syn_dir),
                                                       "images": ranked}, indent=1))
    k = min(12, len(ranked) // 2 // 4 * 4)
    low, high = [p for p, _ in ranked[:k]], [p for p, _ in ranked[::-1][:k]]
    cv2.imwrite(str(args.out / "farthest.png"), _sheet(low, 4))
    cv2.imwrite(str(args.out / "nearest.png"), _sheet(high, 4))
    both = np.vstack([_sheet(low[:4], 4, f"farthest from the real photos (lowest witness, 4 of {len(syn)})"),
                      _sheet(high[:4], 4, f"nearest to the real photos (highest witness, 4 of {len(syn)})")])
    cv2.imwrite(str(args.out / "witness.jpg"), both, [cv2.IMWRITE_JPEG_QUALITY, 85])
    q = np.percentile(w, [0, 10, 50, 90, 100])
    print(f"witness over {len(syn)} images: min {q[0]:.4f}, p10 {q[1]:.4f}, median {q[2]:.4f}, p90 {q[3]:.4f}, "
          f"max {q[4]:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
