"""Report figures: precision-recall per class, training loss, detections drawn on real images."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from simgen.eval.coco_eval import CocoEvalResult


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pr_curves(result: CocoEvalResult, path: Path) -> Path:
    """Precision vs recall per class at IoU 0.5 (solid) and averaged over IoU .5:.95 (dashed)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5))
    cmap = plt.get_cmap("tab10")
    for k, (name, prec) in enumerate(result.precision.items()):
        pc = result.per_class.get(name, {})
        if not pc.get("n_gt"):
            continue
        col = cmap(k % 10)
        ax.plot(result.recall_points, prec, color=col, label=f"{name} AP50 {pc['ap50']:.2f} AP {pc['ap']:.2f}")
        ax.plot(result.recall_points, result.precision_50_95[name], color=col, ls="--", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall on real (solid IoU .5, dashed mean IoU .5:.95)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_losses(phases: Sequence[tuple[str, Sequence[float]]], path: Path) -> Path:
    """Training loss per iteration (and a moving average) for each training phase."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    offset = 0
    for name, losses in phases:
        x = np.arange(offset, offset + len(losses))
        ax.plot(x, losses, alpha=0.3, lw=0.7)
        k = max(1, len(losses) // 50)
        if len(losses) >= k and k > 1:
            sm = np.convolve(losses, np.ones(k) / k, mode="valid")
            ax.plot(x[k - 1:], sm, lw=1.5, label=f"{name} (avg {k})")
        else:
            ax.plot([], [], label=name)
        offset += len(losses)
    ax.set_xlabel("iteration")
    ax.set_ylabel("total loss")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def draw_detections(rgb: np.ndarray, gt_xywh: Sequence[tuple[Sequence[float], str]],
                    dets: Sequence[tuple[Sequence[float], str, float]], threshold: float) -> np.ndarray:
    """Draw ground truth (green, thin) and detections above ``threshold`` (red, with class and score).

    Args:
        rgb: (H, W, 3) uint8. gt_xywh: (bbox [x, y, w, h], name). dets: (bbox [x, y, w, h], name, score).
    Returns: (H', W', 3) uint8 copy, enlarged to at least 480 px wide.
    """
    f = max(1.0, 480.0 / rgb.shape[1])  # draw small images enlarged so labels stay legible
    img = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_NEAREST) if f > 1 else rgb.copy()
    gt_xywh = [([v * f for v in b], n) for b, n in gt_xywh]
    dets = [([v * f for v in b], n, s) for b, n, s in dets]
    for (x, y, w, h), _name in gt_xywh:
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), (0, 200, 0), 1)
    for (x, y, w, h), name, score in dets:
        if score < threshold:
            continue
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), (230, 30, 30), 2)
        label = f"{name} {score:.2f}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        ty = max(int(y), th + 2)
        cv2.rectangle(img, (int(x), ty - th - 2), (int(x) + tw + 2, ty), (230, 30, 30), -1)
        cv2.putText(img, label, (int(x) + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return img


def contact_sheet(images: Sequence[np.ndarray], cols: int = 3, width: int = 480) -> np.ndarray:
    """Tile (H, W, 3) uint8 images (each resized to ``width``) into one (H', W', 3) uint8 sheet."""
    tiles = []
    for im in images:
        h = int(round(im.shape[0] * width / im.shape[1]))
        tiles.append(cv2.resize(im, (width, h), interpolation=cv2.INTER_AREA))
    th = max(t.shape[0] for t in tiles)
    rows = []
    for i in range(0, len(tiles), cols):
        row = [np.pad(t, ((0, th - t.shape[0]), (0, 0), (0, 0))) for t in tiles[i:i + cols]]
        row += [np.zeros((th, width, 3), np.uint8)] * (cols - len(row))
        rows.append(np.concatenate(row, 1))
    return np.concatenate(rows, 0)
