"""Contact sheet drawn from the written COCO file (so it shows what a consumer of the dataset reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simgen.export import atomic


def palette(k: int) -> tuple[int, int, int]:
    """Distinct RGB colour for index k (golden-angle hues)."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def ann_mask(seg, h: int, w: int) -> np.ndarray:
    from pycocotools import mask as mu

    if isinstance(seg, list):
        rles = mu.frPyObjects(seg, h, w)
        rle = mu.merge(rles)
    elif isinstance(seg.get("counts"), list):
        rle = mu.frPyObjects(seg, h, w)
    else:
        rle = seg
    return mu.decode(rle).astype(bool)


def _colour_key(a: dict) -> int:
    """Per-object colour index: its instance-map id (``instance_id`` in sets written before the rename), else id."""
    return int(a.get("instance_map_id", a.get("instance_id", a["id"])))


def draw_annotations(rgb: np.ndarray, anns: list[dict], cat_names: dict[int, str], alpha: float = 0.45,
                     thickness: int = 2) -> np.ndarray:
    """Masks (tinted), boxes and class names drawn on a copy of rgb (H, W, 3) uint8."""
    import cv2

    img = rgb.astype(np.float32).copy()
    h, w = rgb.shape[:2]
    for a in anns:
        col = np.array(palette(a["category_id"] * 7 + _colour_key(a)), np.float32)
        m = ann_mask(a["segmentation"], h, w)
        img[m] = img[m] * (1 - alpha) + col * alpha
    out = np.clip(img, 0, 255).astype(np.uint8)
    for a in anns:
        col = palette(a["category_id"] * 7 + _colour_key(a))
        x, y, bw, bh = a["bbox"]
        cv2.rectangle(out, (int(x), int(y)), (int(x + bw - 1), int(y + bh - 1)), col, thickness)
        label = cat_names.get(a["category_id"], str(a["category_id"]))
        if "visibility" in a:
            label += f" {a['visibility']:.2f}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        ty = int(y) - 3 if y - th - 4 >= 0 else int(y + th + 3)
        cv2.rectangle(out, (int(x), ty - th - 2), (int(x) + tw + 2, ty + 2), col, -1)
        cv2.putText(out, label, (int(x) + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def contact_sheet(root: Path, coco: dict, n: int = 9, cols: int = 3, tile_width: int = 426) -> np.ndarray:
    """Grid of the first ``n`` images of a COCO dataset with its labels drawn. Returns (H, W, 3) uint8."""
    import cv2

    cat_names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, list] = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    tiles = []
    for e in coco["images"][:max(1, n)]:
        p = Path(root) / "images" / e["file_name"]
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        drawn = draw_annotations(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), by_image.get(e["id"], []), cat_names)
        cv2.putText(drawn, f"#{e['id']}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
        th = int(round(drawn.shape[0] * tile_width / drawn.shape[1]))
        tiles.append(cv2.resize(drawn, (tile_width, th), interpolation=cv2.INTER_AREA))
    if not tiles:
        return np.zeros((32, 32, 3), np.uint8)
    th = tiles[0].shape[0]
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * th + (rows + 1) * 4, min(cols, len(tiles)) * tile_width + (min(cols, len(tiles)) + 1) * 4,
                     3), 24, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = 4 + r * (th + 4), 4 + c * (tile_width + 4)
        sheet[y:y + t.shape[0], x:x + tile_width] = t[:th]
    return sheet


class PreviewExporter:
    """``preview.png``: a contact sheet of the first ``export.preview_n`` images with their labels drawn."""

    name = "preview"

    def outputs(self, coco: dict, cfg) -> list[str]:
        return ["preview.png"]

    def export(self, coco: dict, out: Path, cfg) -> list[str]:
        atomic.write_png(out / "preview.png", contact_sheet(out, coco, n=cfg.preview_n), 3)
        return ["preview.png"]
