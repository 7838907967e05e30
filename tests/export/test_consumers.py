"""Exports proven in the real consumers, not only read back by simgen's own code.

One tiny rendered set (scene=default, 8 images at 160x120, COCO + YOLO) is loaded by:
pycocotools and torchvision (``CocoDetection`` and its v2 wrapper, which decodes the polygons into masks),
FiftyOne (its COCO importer without a database, and ``Dataset.from_dir`` where its MongoDB starts), and
ultralytics (the dataset checker, label verification and a one-epoch training run from a yaml model, offline).
``simgen view`` is tested with and without FiftyOne. Consumer packages are optional extras: their tests skip when
the package is absent (run them with a Python that has them, e.g. a venv with ``simgen[fiftyone,ultralytics]``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.gl, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
N_IMAGES = 8


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """scene=default, 8 images at 160x120: COCO (polygons), instance-id maps (``instances/``, the ground truth of
    the masks) and YOLO (``yolo/``) written by the merge. Rendered by ``simgen render`` in a subprocess: this
    process then never holds a GL context, which makes importing torch/triton (torchvision, ultralytics) segfault
    (see simgen/sweep/experiment.py)."""
    out = tmp_path_factory.mktemp("consumers") / "ds"
    r = subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", f"n_images={N_IMAGES}", "shard_size=4",
                        "render.width=160", "render.height=120", "export.depth=false", "export.format=yolo",
                        "export.instance_maps=true", "export.preview_n=4", "seed=3", f"output_dir={out}"],
                       capture_output=True, text=True, env=_env(out.parent), cwd=out.parent, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["images"]) == N_IMAGES and len(coco["annotations"]) >= N_IMAGES
    return out


def _env(tmp: Path) -> dict[str, str]:
    """Environment of a consumer subprocess: no network (a dead proxy), no telemetry, config dirs in tmp."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "YOLO_OFFLINE": "1",
           "YOLO_CONFIG_DIR": str(tmp / "ultralytics_cfg"), "FIFTYONE_DO_NOT_TRACK": "true",
           "MPLCONFIGDIR": str(tmp / "mpl"), "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    env.pop("SIMGEN_DEBUG", None)
    return env


# ---------------------------------------------------------------------- pycocotools + torchvision

def _true_masks(rendered: Path, coco: dict) -> dict[int, np.ndarray]:
    """{annotation id: (H, W) bool visible mask} from the instance-id maps."""
    import cv2

    out = {}
    for e in coco["images"]:
        imap = cv2.imread(str(rendered / e["instances_file"]), cv2.IMREAD_UNCHANGED)
        for a in coco["annotations"]:
            if a["image_id"] == e["id"]:
                out[a["id"]] = imap == a["instance_map_id"]
    return out


def test_coco_polygons_decode_to_the_visible_pixels_in_pycocotools(rendered):
    from pycocotools.coco import COCO
    from scipy.ndimage import binary_fill_holes

    coco = COCO(str(rendered / "annotations.json"))
    assert sorted(coco.getImgIds()) == list(range(1, N_IMAGES + 1))
    truth = _true_masks(rendered, coco.dataset)
    n_exact = 0
    for a in coco.loadAnns(coco.getAnnIds()):
        m, t = coco.annToMask(a).astype(bool), truth[a["id"]]
        assert int(t.sum()) == a["area"]
        ys, xs = np.nonzero(t)
        assert [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1] == a["bbox"]
        assert (m >= t).all(), a["id"]  # polygons trace the visible pixels' outer edges...
        if (binary_fill_holes(t) == t).all():  # ...and give them back exactly unless the mask has holes
            assert (m == t).all(), a["id"]
            n_exact += 1
    assert n_exact >= len(coco.dataset["annotations"]) // 2


def test_coco_loads_in_torchvision_cocodetection_and_its_v2_wrapper(rendered):
    pytest.importorskip("torchvision")
    import torch
    from torchvision.datasets import CocoDetection, wrap_dataset_for_transforms_v2

    raw = CocoDetection(str(rendered / "images"), str(rendered / "annotations.json"))
    assert len(raw) == N_IMAGES
    img, target = raw[0]
    assert img.size == (160, 120) and target and all(t["image_id"] == 1 for t in target)
    wrapped = wrap_dataset_for_transforms_v2(raw, target_keys=("boxes", "labels", "masks", "image_id"))
    n = 0
    for k in range(len(wrapped)):
        _, t = wrapped[k]
        anns = raw.coco.loadAnns(raw.coco.getAnnIds(imgIds=raw.ids[k]))
        assert t["boxes"].shape == (len(anns), 4) and t["masks"].shape == (len(anns), 120, 160)
        xyxy = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], dtype=torch.float32)
        assert torch.equal(t["boxes"].as_subclass(torch.Tensor).float(), xyxy)
        # the same pixels pycocotools decodes (checked against the instance maps above)
        assert all(np.array_equal(t["masks"][i].numpy(), raw.coco.annToMask(a)) for i, a in enumerate(anns))
        assert t["labels"].tolist() == [a["category_id"] for a in anns]
        n += len(anns)
    assert n == len(raw.coco.anns)


# ---------------------------------------------------------------------- FiftyOne

def _fiftyone():
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    return pytest.importorskip("fiftyone", reason="fiftyone not installed (optional extra: simgen[fiftyone])")


def _fiftyone_db_or_skip():
    fo = _fiftyone()
    try:
        from fiftyone.core.odm import get_db_conn

        get_db_conn()
    except Exception as exc:  # FiftyOneConfigError / ServiceExecutableNotFound: no MongoDB for this OS
        pytest.skip(f"FiftyOne's MongoDB does not start here ({str(exc).splitlines()[0][:120]})")
    return fo


def _check_fiftyone_detections(samples, coco: dict) -> None:
    """FiftyOne samples (filepath, Detections) against the COCO file: labels, boxes, masks, extra attributes."""
    from pycocotools.coco import COCO

    coco_api = COCO()
    coco_api.dataset = coco
    coco_api.createIndex()
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_file = {e["file_name"]: e for e in coco["images"]}
    total = 0
    for filepath, dets in samples:
        e = by_file[Path(filepath).name]
        anns = [a for a in coco["annotations"] if a["image_id"] == e["id"]]
        assert len(dets.detections) == len(anns)
        for d, a in zip(sorted(dets.detections, key=lambda d: d["instance_map_id"]),
                        sorted(anns, key=lambda a: a["instance_map_id"])):
            x, y, w, h = a["bbox"]
            assert d.label == names[a["category_id"]]
            assert np.allclose(d.bounding_box, [x / e["width"], y / e["height"], w / e["width"], h / e["height"]])
            assert d.mask is not None and d.mask.shape == (h, w)
            x, y, w, h = (int(v) for v in a["bbox"])  # the mask: the polygons' pixels as pycocotools decodes them
            assert np.array_equal(d.mask.astype(bool), coco_api.annToMask(a)[y:y + h, x:x + w].astype(bool))
            assert d["visibility"] == pytest.approx(a["visibility"])
        total += len(dets.detections)
    assert total == len(coco["annotations"])


def test_fiftyone_coco_importer_reads_boxes_masks_and_extra_attributes(rendered):
    """FiftyOne's own COCO parser (what Dataset.from_dir runs), without its database: runs wherever fiftyone is
    installed, including machines whose MongoDB cannot start. It rejected `instance_id` (reserved in FiftyOne)."""
    _fiftyone()
    from fiftyone.utils.coco import COCODetectionDatasetImporter

    coco = json.loads((rendered / "annotations.json").read_text())
    importer = COCODetectionDatasetImporter(dataset_dir=str(rendered), data_path="images",
                                            labels_path="annotations.json", label_types=["segmentations"])
    with importer:
        samples = [(path, labels) for path, _, labels in importer]
    assert len(samples) == N_IMAGES
    _check_fiftyone_detections(samples, coco)


def test_coco_extra_keys_are_not_reserved_by_fiftyone_detection(rendered):
    fol = _fiftyone().core.labels
    coco = json.loads((rendered / "annotations.json").read_text())
    standard = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation"}
    for key in sorted(set(coco["annotations"][0]) - standard):
        fol.Detection(label="x", bounding_box=[0, 0, 1, 1], **{key: coco["annotations"][0][key]})


def test_fiftyone_dataset_from_dir_opens_the_rendered_set(rendered):
    fo = _fiftyone_db_or_skip()
    coco = json.loads((rendered / "annotations.json").read_text())
    ds = fo.Dataset.from_dir(dataset_dir=str(rendered), dataset_type=fo.types.COCODetectionDataset,
                             data_path="images", labels_path="annotations.json",
                             label_types=["detections", "segmentations"], label_field="gt")
    try:
        assert len(ds) == N_IMAGES
        assert ds.count("gt_detections.detections") == len(coco["annotations"])
        _check_fiftyone_detections([(s.filepath, s.gt_segmentations) for s in ds], coco)
        assert sorted(ds.distinct("gt_detections.detections.label")) == \
            sorted({c["name"] for c in coco["categories"]} & set(ds.distinct("gt_detections.detections.label")))
    finally:
        ds.delete()


def _view(args: list[str], tmp: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", "view", *args], capture_output=True, text=True,
                          env=_env(tmp), cwd=tmp, timeout=timeout)


def test_view_builds_the_fiftyone_dataset_without_launching(rendered, tmp_path):
    _fiftyone_db_or_skip()
    r = _view([str(rendered), "launch=false"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    coco = json.loads((rendered / "annotations.json").read_text())
    assert f"{N_IMAGES} images, {len(coco['annotations'])} objects" in r.stderr + r.stdout
    assert "preview.png" in r.stderr + r.stdout


def test_view_without_fiftyone_says_how_to_install_and_points_to_the_preview(rendered, tmp_path):
    try:
        import fiftyone  # noqa: F401
        pytest.skip("fiftyone is installed here")
    except ImportError:
        pass
    r = _view([str(rendered)], tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'simgen[fiftyone]'" in lines[0]
    assert str(rendered / "preview.png") in lines[0]


def test_view_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    r = _view([str(tmp_path), "launch=false"], tmp_path)
    assert r.returncode == 2 and "annotations.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _view([str(tmp_path), "lunch=false"], tmp_path)
    assert r.returncode == 2 and "unknown key 'lunch'" in r.stderr


# ---------------------------------------------------------------------- ultralytics

def _ultralytics():
    os.environ.setdefault("YOLO_OFFLINE", "1")
    return pytest.importorskip("ultralytics", reason="ultralytics not installed (optional extra: "
                                                     "simgen[ultralytics])")


def test_yolo_export_passes_the_ultralytics_dataset_checker(rendered, tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "cfg"))
    _ultralytics()
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    coco = json.loads((rendered / "annotations.json").read_text())
    data = check_det_dataset(str(rendered / "yolo" / "data.yaml"), autodownload=False)
    assert data["nc"] == len(coco["categories"])
    assert [data["names"][k] for k in range(data["nc"])] == [c["name"] for c in coco["categories"]]
    assert Path(data["train"]).is_dir() and Path(data["val"]).is_dir()
    # label verification (what training runs): every image and label file checked, none corrupt or missing
    ds = YOLODataset(img_path=data["train"], data=data, task="detect", imgsz=160, augment=False, cache=False)
    assert len(ds.labels) == N_IMAGES
    n_boxes = sum(len(lb["cls"]) for lb in ds.labels)
    assert n_boxes == sum(1 for a in coco["annotations"] if a["bbox"][2] > 0 and a["bbox"][3] > 0)
    for lb in ds.labels:
        assert lb["shape"] == (120, 160) and (lb["bboxes"] >= 0).all() and (lb["bboxes"] <= 1).all()


TRAIN = r"""
import json, sys
from pathlib import Path
from ultralytics import YOLO
from ultralytics.utils import ONLINE
assert not ONLINE, "YOLO_OFFLINE=1 should make ultralytics offline"
data, project = sys.argv[1], sys.argv[2]
model = YOLO("yolov8n.yaml")  # architecture only: no weights
res = model.train(data=data, epochs=1, imgsz=64, batch=4, workers=0, device="cpu", pretrained=False, amp=False,
                  plots=False, val=True, project=project, name="run", exist_ok=True, verbose=False, seed=0,
                  deterministic=True, cache=False)
save = Path(model.trainer.save_dir)
print(json.dumps({"save_dir": str(save), "last": (save / "weights" / "last.pt").is_file(),
                  "map50": float(res.box.map50) if res is not None else None}))
"""


def test_ultralytics_trains_one_epoch_on_the_yolo_export_offline(rendered, tmp_path):
    _ultralytics()
    r = subprocess.run([sys.executable, "-c", TRAIN, str(rendered / "yolo" / "data.yaml"), str(tmp_path / "runs")],
                       capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=400)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["last"], out
    assert out["map50"] is not None and 0.0 <= out["map50"] <= 1.0
    downloaded = [p for p in tmp_path.rglob("*") if p.suffix in {".pt", ".ttf", ".zip"} and "weights" not in p.parts]
    assert downloaded == [], downloaded  # no font, no pretrained weights, no AMP-check model
