"""One experiment job: render the synthetic set, score it against real photos, write ``report.json``.

Job folder layout::

    <job dir>/synthetic/    simgen render's COCO set (resumable: a killed job started again finishes it)
    <job dir>/score/        simgen score's output (report.json/md, plots, detections, checkpoints)
    <job dir>/report.json   this job: settings, render stats, headline scores (what sweep-summary reads)

A job whose ``report.json`` says ``ok`` for the same dataset fingerprint and score settings is not run again, so
a sweep re-launched into the same ``hydra.sweep.dir`` only runs what is missing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Optional

from simgen.sweep.schema import FAMILIES, ExperimentAppConfig, ablate_family, render_config

log = logging.getLogger(__name__)

REPORT_KIND = "simgen-experiment"
REPORT_VERSION = 1
# scalar fields of simgen score's report.json copied into the experiment report
SCORE_KEYS = ("map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar_100", "fid", "kid",
              "headline_distance", "iterations", "train_time_s", "total_time_s", "n_train_images", "n_test_images",
              "n_test_objects", "categories", "warnings")


def dataset_fingerprint(rc) -> str:
    from simgen.run.job import fingerprint
    from simgen.run.worker import resolve_scene

    return fingerprint(rc, dataclasses.asdict(resolve_scene(rc)))


def _read_json(p: Path) -> Optional[dict]:
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def run_experiment(cfg: ExperimentAppConfig, job_dir: str | Path, *, job: Optional[dict] = None) -> dict:
    """Render + score into ``job_dir``; returns (and writes) the experiment report.

    Args:
        cfg: the experiment config (``output_dir`` is ignored here; the caller resolves it to ``job_dir``).
        job_dir: the job's folder.
        job: Hydra job facts to record (overrides, choices, num), or None.
    """
    from simgen.run.job import render_dataset
    from simgen.errors import ConfigError
    from simgen.export import atomic

    t0 = time.perf_counter()
    job_dir = Path(job_dir).expanduser()
    job_dir.mkdir(parents=True, exist_ok=True)
    fam = ablate_family(cfg)
    if cfg.run_score and not cfg.real_dir:
        raise ConfigError("real_dir is not set; pass real_dir=<COCO folder of real photos> (held-out test set), "
                          "or run_score=false to render only")
    if cfg.run_score:
        # torch/triton (through torchvision.ops) can segfault when first imported after this process has made a
        # GL context (workers=1 renders here): load the scoring stack before rendering
        try:
            import torchvision.ops  # noqa: F401
        except ImportError:
            pass  # score_datasets reports the missing extra
    dataset_dir = job_dir / "synthetic"
    rc = render_config(cfg, str(dataset_dir))
    if fam is not None and not getattr(cfg.randomization, fam).enabled:
        log.warning("ablate=%s: that family is already off in this config; this job equals the full set", fam)
    fp = dataset_fingerprint(rc)
    score_settings = dataclasses.asdict(cfg.score) if cfg.run_score else None
    report_path = job_dir / "report.json"
    prev = _read_json(report_path)
    if (prev and prev.get("status") == "ok" and prev.get("render", {}).get("fingerprint") == fp
            and prev.get("score_settings") == score_settings and prev.get("real_dir") == cfg.real_dir):
        log.info("experiment already done in %s (same dataset and score settings); nothing to do", job_dir)
        return prev

    report: dict[str, Any] = {
        "kind": REPORT_KIND, "version": REPORT_VERSION, "status": "running", "name": cfg.name,
        "job": job or {}, "ablate": fam,
        "randomization": {f: bool(getattr(rc.randomization, f).enabled) for f in FAMILIES},
        "scene": cfg.scene, "n_images": cfg.n_images, "seed": cfg.seed, "real_dir": cfg.real_dir,
        "score_settings": score_settings,
    }
    atomic.write_json(report_path, report, indent=2)

    # ---- render (resumes an unfinished dataset; reuses a finished one with the same fingerprint) -------------
    manifest = _read_json(dataset_dir / "manifest.json")
    if manifest is not None and manifest.get("fingerprint") == fp:
        log.info("dataset already rendered in %s; reusing it", dataset_dir)
        timing = _read_json(dataset_dir / ".simgen" / "timing.json") or {}
        render = {"images": manifest["counts"]["images"], "annotations": manifest["counts"]["annotations"],
                  "seconds": timing.get("seconds"), "reused": True}
    else:
        # a dataset of another config in this job dir (finished, or unfinished): replace it; same config: resume
        state = _read_json(dataset_dir / ".simgen" / "run.json")
        rc.overwrite = manifest is not None or (state is not None and state.get("fingerprint") != fp)
        res = render_dataset(rc)
        render = {"images": res["images"], "annotations": res["annotations"],
                  "seconds": round(res["seconds"], 3), "reused": False}
        timing = _read_json(dataset_dir / ".simgen" / "timing.json") or {}
    secs = timing.get("seconds")
    rendered = timing.get("rendered") or 0
    render.update({"fingerprint": fp, "dataset_dir": "synthetic", "workers": cfg.workers,
                   "executor": cfg.executor.name,
                   # seconds per image of the last render call (a resumed run: of what it rendered)
                   "seconds_per_image": round(secs / rendered, 4) if secs and rendered else None})
    report["render"] = render
    atomic.write_json(report_path, report, indent=2)

    # ---- score ------------------------------------------------------------------------------------------------
    if cfg.run_score:
        from simgen.eval.score import score_datasets

        score_dir = job_dir / "score"
        sr = score_datasets(str(dataset_dir), cfg.real_dir, str(score_dir), cfg.score,
                            real_train_dir=cfg.real_train_dir, seed=cfg.seed, device=cfg.device)
        score = {k: sr.get(k) for k in SCORE_KEYS if k in sr}
        score["per_class_ap"] = {n: (v or {}).get("ap") for n, v in (sr.get("per_class") or {}).items()}
        score["report"] = "score/report.json"
        report["score"] = score
    report["status"] = "ok"
    report["seconds"] = round(time.perf_counter() - t0, 3)
    atomic.write_json(report_path, report, indent=2)
    s = report.get("score") or {}
    log.info("experiment %s: %d images%s -> %s", cfg.name or job_dir.name, render["images"],
             (f", mAP {s['map']:.3f}" if s.get("map") is not None else "")
             + (f", FID {s['fid']:.1f}" if s.get("fid") is not None else "")
             + (f", KID {s['kid']:.4f}" if s.get("kid") is not None else ""), report_path)
    return report


def record_failure(job_dir: str | Path, exc: BaseException) -> None:
    """Mark the job's report.json failed (status, error) so sweep-summary lists it."""
    from simgen.export import atomic

    p = Path(job_dir) / "report.json"
    report = _read_json(p) or {"kind": REPORT_KIND, "version": REPORT_VERSION}
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    report.update({"status": "failed", "error": f"{type(exc).__name__}: {msg}"})
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(p, report, indent=2)
    except Exception:  # never mask the original error
        pass
