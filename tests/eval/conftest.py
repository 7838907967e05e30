"""Fixtures for the scoring tests: tiny COCO folders drawn with OpenCV (shapes on noise backgrounds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SHAPES = {"red_box": (220, 40, 40), "blue_disc": (40, 60, 230), "green_triangle": (40, 200, 60)}


def make_toy_coco(root: Path, n_images: int = 12, size: tuple[int, int] = (160, 120), seed: int = 0,
                  categories: tuple[str, ...] = ("red_box", "blue_disc"), n_empty: int = 1,
                  noise_level: int = 60, visibility: bool = True) -> Path:
    """Write ``root/annotations.json`` + ``root/images/*.png``: coloured shapes on noise (w, h = size)."""
    import cv2

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    w, h = size
    images, anns = [], []
    cats = [{"id": k + 1, "name": n, "supercategory": "toy"} for k, n in enumerate(categories)]
    for i in range(n_images):
        base = rng.integers(60, 190)
        img = np.clip(base + rng.normal(0, noise_level, (h, w, 3)), 0, 255).astype(np.uint8)
        n_obj = 0 if i < n_empty else int(rng.integers(1, 4))
        for _ in range(n_obj):
            k = int(rng.integers(0, len(categories)))
            name = categories[k]
            s = int(rng.integers(min(w, h) // 6, min(w, h) // 2.5))
            x0, y0 = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
            kind = name.lower() if name.lower() in SHAPES else list(SHAPES)[k % len(SHAPES)]
            col = tuple(int(c) for c in SHAPES[kind])
            if kind == "red_box":
                cv2.rectangle(img, (x0, y0), (x0 + s - 1, y0 + s - 1), col, -1)
                box = [x0, y0, s, s]
            elif kind == "blue_disc":
                cv2.circle(img, (x0 + s // 2, y0 + s // 2), s // 2, col, -1)
                box = [x0, y0, 2 * (s // 2) + 1, 2 * (s // 2) + 1]
            else:
                pts = np.array([[x0, y0 + s - 1], [x0 + s - 1, y0 + s - 1], [x0 + s // 2, y0]], np.int32)
                cv2.fillPoly(img, [pts], col)
                box = [x0, y0, s, s]
            a = {"id": len(anns) + 1, "image_id": i + 1, "category_id": k + 1, "bbox": [float(v) for v in box],
                 "area": float(box[2] * box[3]), "iscrowd": 0,
                 "segmentation": [[box[0], box[1], box[0] + box[2], box[1], box[0] + box[2], box[1] + box[3],
                                   box[0], box[1] + box[3]]]}
            if visibility:
                a["visibility"] = float(rng.uniform(0.5, 1.0))
            anns.append(a)
        fn = f"{i:06d}.png"
        cv2.imwrite(str(root / "images" / fn), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        images.append({"id": i + 1, "file_name": fn, "width": w, "height": h})
    coco = {"info": {"description": "toy"}, "licenses": [], "images": images, "annotations": anns,
            "categories": cats}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


@pytest.fixture
def toy_coco(tmp_path):
    """Factory: ``toy_coco(name, **kwargs)`` -> a new toy COCO folder under tmp_path."""

    def make(name: str = "set", **kwargs) -> Path:
        return make_toy_coco(tmp_path / name, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    monkeypatch.setenv("SIMGEN_NO_PROGRESS", "1")
