"""Detector building, augmentation and a short training run (torch, CPU)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from simgen.eval.augment import augment, hflip, scale_jitter  # noqa: E402
from simgen.eval.data import load_coco, training_targets  # noqa: E402
from simgen.eval.detector import DetectorSpec, build_detector  # noqa: E402
from simgen.eval.schema import AugmentSettings, ScoreSettings  # noqa: E402
from simgen.eval.train import lr_factor, train_detector  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_hflip_and_scale_jitter_keep_boxes_on_objects():
    img = np.zeros((100, 200, 3), np.uint8)
    img[20:40, 30:70] = 255
    boxes = np.array([[30, 20, 70, 40]], np.float32)
    f, fb = hflip(img, boxes)
    assert fb.tolist() == [[130, 20, 170, 40]] and f[30, 150].max() == 255
    rng = np.random.default_rng(0)
    for scale in (0.6, 1.0, 1.5):
        out, b, lab = scale_jitter(img, boxes, np.array([1]), scale, rng)
        assert out.shape == img.shape
        if len(b):
            x0, y0, x1, y1 = b[0].round().astype(int)
            inside = out[y0 + 2:y1 - 2, x0 + 2:x1 - 2]
            assert inside.size == 0 or inside.mean() > 200


def test_augment_is_deterministic_per_seed():
    img = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 40, 30]], np.float32)
    cfg = AugmentSettings(grayscale=0.3)
    a = augment(img, boxes, np.array([1]), cfg, np.random.default_rng(5))
    b = augment(img, boxes, np.array([1]), cfg, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_lr_schedule():
    assert lr_factor(0, 100, 10, "cosine") < 0.01
    assert lr_factor(10, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(99, 100, 10, "cosine") < 0.05
    assert lr_factor(80, 100, 0, "step") == pytest.approx(0.1)


@pytest.mark.parametrize("detector", ["retinanet", "fcos", "ssdlite"])
def test_other_detectors_build_train_step_and_predict(detector):
    model = build_detector(DetectorSpec(detector=detector, num_classes=2, min_size=128, max_size=160))
    imgs = [torch.rand(3, 96, 128), torch.rand(3, 96, 128)]
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 60.0, 50.0]]), "labels": torch.tensor([2])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    losses = model(imgs, targets)
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(imgs)
    assert set(out[0]) >= {"boxes", "scores", "labels"}


def test_backbone_freezing_and_frozen_bn():
    from torchvision.ops import FrozenBatchNorm2d

    m = build_detector(DetectorSpec(num_classes=2, min_size=128, max_size=160, trainable_backbone_layers=0))
    body = m.backbone.body
    assert not any(p.requires_grad for p in body.parameters())
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in body.modules())
    assert any(isinstance(x, FrozenBatchNorm2d) for x in body.modules())
    m5 = build_detector(DetectorSpec(num_classes=2, min_size=128, max_size=160, trainable_backbone_layers=5))
    assert all(p.requires_grad for p in m5.backbone.body.parameters())


def test_short_training_lowers_loss_and_checkpoints(toy_coco, tmp_path):
    ds = load_coco(toy_coco("train", n_images=10, size=(128, 96)), "synthetic")
    recs = training_targets(ds, {1: 1, 2: 2})
    s = ScoreSettings(iterations=20, batch_size=2, lr=0.01, warmup_iters=5, image_size=96, max_size=128,
                      augment=AugmentSettings(hflip=0.5, color_jitter=0.0, hue=0.0, scale_min=1.0, scale_max=1.0,
                                              blur=0.0, noise=0.0), checkpoint_every=10, log_every=10)
    torch.manual_seed(0)
    model = build_detector(DetectorSpec(num_classes=2, min_size=96, max_size=128))
    ck = tmp_path / "ck" / "synthetic.pt"
    res = train_detector(model, [recs], [1.0], s, iterations=20, lr=s.lr, device=torch.device("cpu"), seed=0,
                         checkpoint_path=ck, tag="synthetic")
    assert len(res.losses) == 20
    assert np.mean(res.losses[-5:]) < 0.7 * np.mean(res.losses[:5]), res.losses
    assert ck.is_file()
    # a finished checkpoint resumes to "nothing left to do"
    res2 = train_detector(model, [recs], [1.0], s, iterations=20, lr=s.lr, device=torch.device("cpu"), seed=0,
                          checkpoint_path=ck, tag="synthetic")
    assert res2.start_iteration == 20 and res2.losses == []


def test_checkpoint_of_other_run_is_not_resumed(toy_coco, tmp_path):
    ds = load_coco(toy_coco("train", n_images=4, size=(96, 64)), "synthetic")
    recs = training_targets(ds, {1: 1, 2: 2})
    s = ScoreSettings(iterations=2, image_size=64, max_size=96, warmup_iters=0, checkpoint_every=1)
    model = build_detector(DetectorSpec(num_classes=2, min_size=64, max_size=96))
    ck = tmp_path / "ck.pt"
    kw = dict(iterations=2, lr=0.01, device=torch.device("cpu"), seed=0, checkpoint_path=ck, tag="synthetic")
    train_detector(model, [recs], [1.0], s, fingerprint="run-a", **kw)
    assert train_detector(model, [recs], [1.0], s, fingerprint="run-a", **kw).start_iteration == 2
    other = train_detector(model, [recs], [1.0], s, fingerprint="run-b", **kw)
    assert other.start_iteration == 0 and len(other.losses) == 2
