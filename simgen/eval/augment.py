"""Training-time image augmentation for detection (numpy + OpenCV, explicit rng).

All functions take ``rgb: (H, W, 3) uint8`` and ``boxes_xyxy: (N, 4) float32`` pixels, ``labels: (N,) int64``
and return new arrays of the same kinds.
"""

from __future__ import annotations

import cv2
import numpy as np

from simgen.eval.schema import AugmentSettings

PAD_VALUE = 127  # mid-gray: 0 after the backbone's (x - 127) / 128 normalisation


def hflip(rgb: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = rgb.shape[1]
    out = boxes_xyxy.copy()
    out[:, 0] = w - boxes_xyxy[:, 2]
    out[:, 2] = w - boxes_xyxy[:, 0]
    return np.ascontiguousarray(rgb[:, ::-1]), out


def scale_jitter(rgb: np.ndarray, boxes_xyxy: np.ndarray, labels: np.ndarray, scale: float,
                 rng: np.random.Generator, *, min_keep: float = 0.3
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zoom by ``scale`` and crop (scale > 1) or pad (scale < 1) back to the input size at a random offset.

    Boxes are shifted and clipped; a box keeping less than ``min_keep`` of its zoomed area is dropped.
    """
    h, w = rgb.shape[:2]
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = cv2.resize(rgb, (nw, nh), interpolation=interp)
    b = boxes_xyxy * np.float32(scale)
    if scale >= 1:
        ox, oy = int(rng.integers(0, nw - w + 1)), int(rng.integers(0, nh - h + 1))
        img = img[oy:oy + h, ox:ox + w]
        b = b - np.array([ox, oy, ox, oy], np.float32)
    else:
        ox, oy = int(rng.integers(0, w - nw + 1)), int(rng.integers(0, h - nh + 1))
        canvas = np.full((h, w, 3), PAD_VALUE, np.uint8)
        canvas[oy:oy + nh, ox:ox + nw] = img
        img = canvas
        b = b + np.array([ox, oy, ox, oy], np.float32)
    area0 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
    area1 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = (area1 >= min_keep * np.maximum(area0, 1e-6)) & (b[:, 2] - b[:, 0] >= 2) & (b[:, 3] - b[:, 1] >= 2)
    return np.ascontiguousarray(img), b[keep], labels[keep]


def color_jitter(rgb: np.ndarray, strength: float, hue: float, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation factors in [1-strength, 1+strength] and a hue shift in [-hue, hue]."""
    img = rgb.astype(np.float32)
    if strength > 0:
        b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
        img *= b
        gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
        img = (img - gray.mean()) * c + gray.mean()
        gray = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        img = (img - gray) * s + gray
    img = img.clip(0, 255).astype(np.uint8)
    if hue > 0:
        shift = rng.uniform(-hue, hue)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(shift * 180))) % 180).astype(np.uint8)
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img


def augment(rgb: np.ndarray, boxes_xyxy: np.ndarray, labels: np.ndarray, cfg: AugmentSettings,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the augmentations of ``cfg`` in a fixed order: flip, scale jitter, colour, blur, noise, gray."""
    if cfg.hflip > 0 and rng.random() < cfg.hflip:
        rgb, boxes_xyxy = hflip(rgb, boxes_xyxy)
    if cfg.scale_min != 1.0 or cfg.scale_max != 1.0:
        s = float(np.exp(rng.uniform(np.log(cfg.scale_min), np.log(cfg.scale_max))))
        rgb, boxes_xyxy, labels = scale_jitter(rgb, boxes_xyxy, labels, s, rng)
    if cfg.color_jitter > 0 or cfg.hue > 0:
        rgb = color_jitter(rgb, cfg.color_jitter, cfg.hue, rng)
    if cfg.blur > 0 and rng.random() < cfg.blur:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigmaX=float(rng.uniform(0.3, 1.5)))
    if cfg.noise > 0:
        std = float(rng.uniform(0, cfg.noise))
        if std > 0.5:
            rgb = (rgb.astype(np.float32) + rng.normal(0, std, rgb.shape).astype(np.float32)).clip(0, 255)
            rgb = rgb.astype(np.uint8)
    if cfg.grayscale > 0 and rng.random() < cfg.grayscale:
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        rgb = np.repeat(g[..., None], 3, axis=2)
    return rgb, boxes_xyxy, labels
