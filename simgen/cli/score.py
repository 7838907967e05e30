"""``simgen score synthetic_dir=<COCO dir> real_dir=<COCO dir> output_dir=<dir> [score=quick|fid_only] [score.key=value]``.

Trains a detector on the synthetic set (or per ``score.protocol``), evaluates it on the real photos, measures
FID/KID and coverage, and writes report.json, report.md, detections.json and plots into output_dir.
``score=fid_only`` trains no detector (FID/KID and coverage only). Every input is checked before anything runs:
a bad COCO file, image or path ends the command with one line and exit code 2.
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

import simgen.paths
from simgen.cli.common import report_errors
from simgen.cli.configs import register_all, score_settings

log = logging.getLogger("simgen")

register_all()


@report_errors
def run(cfg: DictConfig) -> dict:
    from simgen.eval.score import score_datasets

    settings = score_settings(cfg.score)
    report = score_datasets(cfg.synthetic_dir, cfg.real_dir, cfg.output_dir, settings,
                            real_train_dir=cfg.real_train_dir, seed=int(cfg.seed), device=str(cfg.device))
    head = report.get("headline_distance")
    dist = ""
    if report.get("fid") is not None:
        dist = (f", KID {report['kid']:.4f} (headline), FID {report['fid']:.1f}" if head == "kid" else
                f", FID {report['fid']:.1f}, KID {report['kid']:.4f}")
    if report.get("detector_trained") is False:
        log.info("score: no detector trained (FID/KID and coverage only)%s -> %s/report.md", dist, cfg.output_dir)
    else:
        log.info("score: mAP %.3f, AP50 %.3f%s -> %s/report.md", report["map"] or 0.0, report["ap50"] or 0.0, dist,
                 cfg.output_dir)
    return report


@hydra.main(config_path=str(simgen.paths.conf_dir()), config_name="score", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
