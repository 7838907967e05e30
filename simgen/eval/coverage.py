"""Coverage report: synthetic vs real distributions side by side, and which real values the synthetic set misses.

Per object: relative box width/height, relative scale ``sqrt(w*h / (W*H))``, aspect ``w/h``, box centre
(relative), class, visibility (if annotated). Per image: brightness (mean luma, 0..255), contrast (luma std),
objects per image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from simgen.eval.data import CocoSet

log = logging.getLogger(__name__)


@dataclass
class SetStats:
    """Arrays per object (``rel_w``, ``rel_h``, ``scale``, ``aspect``, ``cx``, ``cy``: float64 (N,), ``label``
    object class names (N,), ``visibility`` float64 (N,) NaN when absent) and per image (``brightness``,
    ``contrast`` float64 (M,) on the sampled images, ``objects`` int (I,) on all images)."""

    name: str
    rel_w: np.ndarray
    rel_h: np.ndarray
    scale: np.ndarray
    aspect: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    label: np.ndarray
    visibility: np.ndarray
    brightness: np.ndarray
    contrast: np.ndarray
    objects: np.ndarray


def set_stats(ds: CocoSet, names: dict[int, str], *, max_images: int, rng: np.random.Generator) -> SetStats:
    """Statistics of ``ds`` restricted to the categories in ``names`` (COCO id -> shared class name).

    Brightness/contrast are measured on at most ``max_images`` images (seeded random subset, read at 1/4 size).
    """
    imgs = {int(im["id"]): im for im in ds.images}
    rows = []
    for a in ds.annotations:
        cid = int(a["category_id"])
        if cid not in names or a.get("iscrowd", 0):
            continue
        x, y, w, h = (float(v) for v in a["bbox"])
        if w <= 0 or h <= 0:
            continue
        im = imgs[int(a["image_id"])]
        W, H = float(im["width"]), float(im["height"])
        vis = a.get("visibility")
        rows.append((w / W, h / H, np.sqrt(w * h / (W * H)), w / h, (x + w / 2) / W, (y + h / 2) / H, names[cid],
                     float(vis) if vis is not None else np.nan))
    cols = list(zip(*rows)) if rows else [[]] * 8
    f = lambda k: np.asarray(cols[k], np.float64)  # noqa: E731
    ids = list(imgs)
    sample = ids if len(ids) <= max_images else list(rng.choice(ids, max_images, replace=False))
    bright, contrast = [], []
    for iid in sample:
        g = cv2.imread(str(ds.image_paths[int(iid)]), cv2.IMREAD_REDUCED_GRAYSCALE_4)
        if g is None:
            continue
        bright.append(float(g.mean()))
        contrast.append(float(g.std()))
    objects = np.asarray([sum(1 for a in ds.anns_by_image.get(i, []) if int(a["category_id"]) in names)
                          for i in ids])
    return SetStats(ds.role, f(0), f(1), f(2), f(3), f(4), f(5), np.asarray(cols[6], dtype=object), f(7),
                    np.asarray(bright), np.asarray(contrast), objects)


QUANTITIES = {
    "scale": "object scale sqrt(box area / image area)",
    "aspect": "box aspect w/h",
    "rel_w": "box width / image width",
    "rel_h": "box height / image height",
    "cx": "box centre x / image width",
    "cy": "box centre y / image height",
    "visibility": "visible fraction",
    "brightness": "image brightness (mean luma)",
    "contrast": "image contrast (luma std)",
    "objects": "objects per image",
}


def coverage_gaps(syn: SetStats, real: SetStats, lo: float = 1.0, hi: float = 99.0) -> list[dict]:
    """For each quantity: the share of real values below the synthetic ``lo``-th / above the ``hi``-th percentile.

    A large share means the synthetic randomization range misses part of the real data (with fewer than 100
    synthetic values the synthetic min..max is the range). Per-class scale is
    included as ``scale[<class>]``. Sorted by the share outside, largest first.
    """
    out = []

    def one(key: str, desc: str, s: np.ndarray, r: np.ndarray) -> None:
        s, r = s[np.isfinite(s)], r[np.isfinite(r)]
        if len(s) < 2 or len(r) == 0:
            return
        # percentiles need enough samples to mean anything; below 100 the synthetic min/max are the range
        s_lo, s_hi = np.percentile(s, [lo, hi]) if len(s) >= 100 else (s.min(), s.max())
        below, above = float(np.mean(r < s_lo)), float(np.mean(r > s_hi))
        out.append({"quantity": key, "description": desc, "synthetic_range": [float(s_lo), float(s_hi)],
                    "real_range": [float(r.min()), float(r.max())], "real_median": float(np.median(r)),
                    "synthetic_median": float(np.median(s)), "real_below": below, "real_above": above,
                    "real_outside": below + above, "n_synthetic": int(len(s)), "n_real": int(len(r))})

    for key, desc in QUANTITIES.items():
        one(key, desc, np.asarray(getattr(syn, key), np.float64), np.asarray(getattr(real, key), np.float64))
    for name in sorted(set(real.label.tolist())):
        one(f"scale[{name}]", f"object scale of {name}", syn.scale[syn.label == name], real.scale[real.label == name])
    out.sort(key=lambda d: -d["real_outside"])
    return out


def class_balance(stats: SetStats, names: list[str]) -> dict[str, float]:
    """Share of objects per class."""
    n = max(1, len(stats.label))
    return {c: float(np.sum(stats.label == c)) / n for c in names}


def plot_coverage(syn: SetStats, real: SetStats, names: list[str], out_dir: Path) -> list[Path]:
    """Write the coverage figures (PNG) into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    colors = {"synthetic": "tab:orange", "real": "tab:blue"}
    paths = []

    def hist(ax, key: str, title: str, log_x: bool = False) -> None:
        vals = [np.asarray(getattr(s, key), np.float64) for s in (syn, real)]
        vals = [v[np.isfinite(v)] for v in vals]
        allv = np.concatenate(vals) if any(len(v) for v in vals) else np.zeros(0)
        if allv.size == 0:
            ax.set_title(title + " (no data)")
            return
        if log_x and (allv > 0).any():
            allv = allv[allv > 0]
            lo, hi = allv.min(), allv.max()
            if hi < lo * 1.05:
                lo, hi = lo / 1.2, hi * 1.2
            bins = np.geomspace(lo, hi, 30)
            ax.set_xscale("log")
        else:
            lo, hi = float(allv.min()), float(allv.max())
            if hi - lo < 1e-6:
                lo, hi = lo - 0.5, hi + 0.5
            bins = np.linspace(lo, hi, 30)
        for s, v in zip((syn, real), vals):
            if len(v):
                ax.hist(v, bins=bins, density=True, alpha=0.5, color=colors.get(s.name, None),
                        label=f"{s.name} (n={len(v)})")
        ax.set_title(title)
        ax.legend(fontsize=7)

    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    hist(axes[0, 0], "scale", "object scale sqrt(box/image area)", log_x=True)
    hist(axes[0, 1], "aspect", "box aspect w/h", log_x=True)
    hist(axes[0, 2], "objects", "objects per image")
    hist(axes[1, 0], "rel_w", "box width / image width")
    hist(axes[1, 1], "rel_h", "box height / image height")
    if np.isfinite(syn.visibility).any() or np.isfinite(real.visibility).any():
        hist(axes[1, 2], "visibility", "visible fraction")
    else:
        axes[1, 2].set_title("visibility (not annotated)")
        axes[1, 2].axis("off")
    fig.suptitle("Boxes: synthetic vs real")
    fig.tight_layout()
    p = out_dir / "coverage_boxes.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, s in zip(axes, (syn, real)):
        h, _, _ = np.histogram2d(s.cy, s.cx, bins=(12, 16), range=((0, 1), (0, 1)))
        ax.imshow(h / max(h.sum(), 1), origin="upper", extent=(0, 1, 1, 0), cmap="viridis")
        ax.set_title(f"{s.name}: box centres (n={len(s.cx)})")
        ax.set_xlabel("x / width")
        ax.set_ylabel("y / height")
    fig.tight_layout()
    p = out_dir / "coverage_position.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    hist(axes[0], "brightness", "image brightness (mean luma)")
    hist(axes[1], "contrast", "image contrast (luma std)")
    x = np.arange(len(names))
    for off, s in ((-0.2, syn), (0.2, real)):
        bal = class_balance(s, names)
        axes[2].bar(x + off, [bal[c] for c in names], width=0.4, color=colors.get(s.name), label=s.name)
    axes[2].set_xticks(x, names, rotation=30, ha="right", fontsize=7)
    axes[2].set_title("class balance (share of objects)")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    p = out_dir / "coverage_images_classes.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(names)), 4.2))
    data, pos, cols = [], [], []
    for k, c in enumerate(names):
        for off, s in ((-0.18, syn), (0.18, real)):
            v = s.scale[s.label == c]
            if len(v):
                data.append(v)
                pos.append(k + off)
                cols.append(colors.get(s.name))
    if data:
        bp = ax.boxplot(data, positions=pos, widths=0.3, patch_artist=True, showfliers=False)
        for patch, col in zip(bp["boxes"], cols):
            patch.set_facecolor(col)
            patch.set_alpha(0.6)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_title("per-class object scale (orange synthetic, blue real)")
    fig.tight_layout()
    p = out_dir / "coverage_scale_per_class.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)
    return paths
