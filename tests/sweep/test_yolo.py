"""COCO -> YOLO (ultralytics layout) converter: boxes convert back within rounding, names, splits, CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest


def _coco(tmp_path: Path) -> Path:
    import cv2

    d = tmp_path / "coco"
    (d / "images").mkdir(parents=True)
    images = []
    for i, (w, h) in enumerate([(160, 120), (640, 480), (33, 17)], start=1):
        cv2.imwrite(str(d / "images" / f"{i:06d}.png"), np.full((h, w, 3), i * 40, np.uint8))
        images.append({"id": i, "file_name": f"{i:06d}.png", "width": w, "height": h})
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10.0, 20.0, 30.0, 40.0], "area": 1200, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 3, "bbox": [0.0, 0.0, 160.0, 120.0], "area": 19200, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 2, "bbox": [600.0, 470.0, 40.0, 10.0], "area": 400, "iscrowd": 0},
        {"id": 4, "image_id": 2, "category_id": 2, "bbox": [1.0, 1.0, 3.0, 0.0], "area": 0, "iscrowd": 0},  # empty
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": [5.0, 5.0, 9.0, 9.0], "area": 81, "iscrowd": 1},  # crowd
    ]
    # category ids deliberately not in file order: class index follows the id
    cats = [{"id": 3, "name": "ring"}, {"id": 1, "name": "crate"}, {"id": 2, "name": "can"}]
    (d / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return d


def test_boxes_round_trip_and_names(tmp_path):
    from simgen.export.yolo import read_yolo, write_yolo, yolo_to_coco_box

    d = _coco(tmp_path)
    coco = json.loads((d / "annotations.json").read_text())
    counts = write_yolo(coco, d, tmp_path / "y", link="copy")
    assert counts == {"images": 3, "labels": 3, "classes": 3, "train": 3, "val": 0}
    names, labels = read_yolo(tmp_path / "y")
    assert names == ["crate", "can", "ring"]
    assert set(labels) == {"train/000001", "train/000002", "train/000003"}
    assert labels["train/000003"] == []  # image without objects: empty label file (background)
    size = {e["id"]: (e["width"], e["height"]) for e in coco["images"]}
    kept = [a for a in coco["annotations"] if not a["iscrowd"] and a["bbox"][2] > 0 and a["bbox"][3] > 0]
    for img_id in (1, 2):
        rows = labels[f"train/{img_id:06d}"]
        want = [a for a in kept if a["image_id"] == img_id]
        assert len(rows) == len(want)
        for (c, *box), a in zip(rows, want):
            assert names[c] == {1: "crate", 2: "can", 3: "ring"}[a["category_id"]]
            assert all(0.0 <= v <= 1.0 for v in box)
            back = yolo_to_coco_box(box, *size[img_id])
            assert np.allclose(back, a["bbox"], atol=1e-3 * max(size[img_id])), (back, a["bbox"])
    for sub in ("images/train/000001.png", "labels/train/000001.txt", "data.yaml"):
        assert (tmp_path / "y" / sub).is_file()
    import yaml

    data = yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())
    assert data["train"] == data["val"] == "images/train" and data["nc"] == 3 and "path" not in data
    assert (tmp_path / "y" / "images/train/000002.png").read_bytes() == (d / "images/000002.png").read_bytes()


def test_box_outside_the_image_is_clipped():
    from simgen.export.yolo import coco_to_yolo_box

    cx, cy, w, h = coco_to_yolo_box([-10, 100, 30, 40], 100, 120)
    assert (cx, cy, w, h) == pytest.approx((0.1, 110 / 120, 0.2, 20 / 120))


def test_val_split_is_deterministic_and_never_empty():
    from simgen.export.yolo import split_images

    assert split_images([3, 1, 2, 4], 0.25) == {1: "train", 2: "train", 3: "train", 4: "val"}
    assert list(split_images(list(range(1, 11)), 0.01).values()).count("val") == 1
    assert set(split_images([1], 0.5).values()) == {"train"}


def test_cli_export_yolo(tmp_path):
    import subprocess

    d = _coco(tmp_path)
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "export-yolo", str(d), str(tmp_path / "y"),
                        "--val-fraction", "0.34", "--link", "symlink"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "y" / "images" / "val" / "000003.png").is_symlink()
    assert (tmp_path / "y" / "images" / "val" / "000003.png").read_bytes() == (d / "images/000003.png").read_bytes()
    import yaml

    assert yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())["val"] == "images/val"
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "export-yolo", str(tmp_path / "nope"),
                        str(tmp_path / "z")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "annotations.json" in r.stderr and "Traceback" not in r.stderr


def test_coco_to_yolo_folder_api(tmp_path):
    from simgen.export.yolo import coco_to_yolo, read_yolo, yolo_to_coco_box

    d = _coco(tmp_path)
    counts = coco_to_yolo(d, tmp_path / "y")
    assert counts["images"] == 3 and counts["classes"] == 3
    names, labels = read_yolo(tmp_path / "y")
    assert names == ["crate", "can", "ring"]
    (c, *box), _ = labels["train/000001"]
    assert c == 0 and np.allclose(yolo_to_coco_box(box, 160, 120), [10.0, 20.0, 30.0, 40.0], atol=1e-3 * 160)
    assert (tmp_path / "y" / "images" / "train" / "000002.png").stat().st_ino == (d / "images" / "000002.png").stat().st_ino
