"""Scoring: train a torchvision detector on synthetic COCO data, test on real photos (pycocotools mAP),
FID/KID between the image sets, coverage plots, report.json/report.md.

``simgen.eval.schema`` imports neither torch nor Hydra; the rest needs the ``eval`` extra (torch, torchvision,
matplotlib, ...), imported lazily here so that ``from simgen.eval import ScoreSettings`` stays light.
"""

from __future__ import annotations

from typing import Any

from simgen.eval.schema import AugmentSettings, FidSettings, ScoreAppConfig, ScoreSettings

__all__ = ["AugmentSettings", "FidSettings", "ScoreAppConfig", "ScoreSettings",
           "score_datasets", "load_coco", "match_categories", "evaluate_detections", "make_extractor",
           "fid_from_features", "kid_from_features"]

_LAZY = {
    "score_datasets": "simgen.eval.score",
    "load_coco": "simgen.eval.data",
    "match_categories": "simgen.eval.data",
    "evaluate_detections": "simgen.eval.coco_eval",
    "make_extractor": "simgen.eval.fid",
    "fid_from_features": "simgen.eval.fid",
    "kid_from_features": "simgen.eval.fid",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simgen.eval' has no attribute {name!r}")
