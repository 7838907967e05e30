"""How far apart are real photos of the same objects in two different rooms? KID between the real set's scenes,
beside each synthetic set's KID against each scene and against all of them (docs/sim2real.md, "KID floor").

    python benchmarks/kid_floor.py ../shared/real/ycbv_dev [name=<synthetic images dir> ...] [--n 200]

Real photos are grouped into scenes by the file-name prefix before the first "_" (YCB-Video's `0001_000001.png`
is scene 0001). Same extractor, resize and KID as `simgen score score=fid_only` (Inception-v3 pool features,
bilinear antialiased to 299 px, unbiased MMD² with the cubic kernel, 100 subsets of min(N, M)); each synthetic set is
a seeded random subset of --n images. Prints a markdown table; about 30 s per 200 synthetic images on 2 cores.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from simgen.eval.fid import ImageItem, extract_features, kid_from_features, load_item, make_extractor, sample_items


def features(items: list[ImageItem], extractor) -> np.ndarray:
    return extract_features((load_item(i) for i in items), extractor, resize="bilinear_aa", batch_size=8)


def kid(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return kid_from_features(a, b, n_subsets=100, subset_size=1000, rng=np.random.default_rng(0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("real_dir", type=Path, help="a COCO folder of real photos (images/ inside) or a folder of images")
    ap.add_argument("synthetic", nargs="*", help="name=<folder of synthetic images>")
    ap.add_argument("--n", type=int, default=200, help="synthetic images per set (seeded subset)")
    args = ap.parse_args()
    img_dir = args.real_dir / "images" if (args.real_dir / "images").is_dir() else args.real_dir
    groups: dict[str, list[ImageItem]] = defaultdict(list)
    for p in sorted(img_dir.glob("*.png")) + sorted(img_dir.glob("*.jpg")):
        groups[p.name.split("_", 1)[0]].append(ImageItem(p))
    if len(groups) < 2:
        raise SystemExit(f"{img_dir} holds {len(groups)} scene(s) (file-name prefix before '_'); need two or more")
    ex = make_extractor("inception")
    real = {g: features(items, ex) for g, items in groups.items()}
    real_all = np.concatenate(list(real.values()))
    print("| set A | set B | N A | N B | KID |\n|---|---|---|---|---|")
    for ga, gb in combinations(real, 2):
        k, s = kid(real[ga], real[gb])
        print(f"| real scene {ga} | real scene {gb} | {len(real[ga])} | {len(real[gb])} | {k:.4f} +- {s:.4f} |")
    for spec in args.synthetic:
        name, path = spec.split("=", 1)
        items = sample_items([ImageItem(p) for p in sorted(Path(path).glob("*.png"))], args.n,
                             np.random.default_rng(0))
        if not items:
            raise SystemExit(f"{path} holds no .png images; give name=<folder of synthetic images>")
        f = features(items, ex)
        for g, fr in list(real.items()) + [("all", real_all)]:
            k, s = kid(f, fr)
            label = "all real" if g == "all" else f"real scene {g}"
            print(f"| {name} | {label} | {len(f)} | {len(fr)} | {k:.4f} +- {s:.4f} |")


if __name__ == "__main__":
    main()
