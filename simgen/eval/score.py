"""``score_datasets``: train a detector (synthetic and/or real), test on real photos, FID/KID, coverage, report.

All input checks (folders, COCO validity, image files, category overlap, objects to train and test on, output
folder) run in :func:`load_inputs` before torch is imported and before anything is written. ``score.detector=none``
(preset ``score=fid_only``) trains no detector: FID/KID and coverage only. Each phase's wall and CPU time
(``time.process_time``: all threads of this process) is logged and written to report.json (``timing``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from simgen.errors import ScoreError
from simgen.eval.data import CocoSet, LabelSpace, _norm_name, load_coco, match_categories, training_targets
from simgen.eval.schema import ScoreSettings

log = logging.getLogger(__name__)

NEEDS_SYNTHETIC = ("synthetic", "synthetic_then_real", "mixed")
NEEDS_REAL_TRAIN = ("real", "synthetic_then_real", "mixed")


class PhaseTimer:
    """Wall (``perf_counter``) and CPU (``process_time``, all threads of this process) seconds per named phase.

    CPU time is what a run costs on a machine shared with other work; wall time is what its user waits."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            d = self.phases.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
            d["wall_s"] += time.perf_counter() - w0
            d["cpu_s"] += time.process_time() - c0
            log.debug("phase %s: %.2f s wall, %.2f s CPU", name, d["wall_s"], d["cpu_s"])

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {k: {"wall_s": round(v["wall_s"], 3), "cpu_s": round(v["cpu_s"], 3)} for k, v in self.phases.items()}

    def log_table(self) -> None:
        for k, v in self.phases.items():
            log.info("time %-16s %7.1f s wall %7.1f s CPU", k, v["wall_s"], v["cpu_s"])


def _check_dirs(synthetic_dir, real_dir, real_train_dir, protocol: str, train: bool = True) -> None:
    if real_dir is None:
        raise ScoreError("real_dir is not set; pass real_dir=<COCO folder of real photos> (the held-out test set)")
    if not train:
        if synthetic_dir is None:
            raise ScoreError("score.detector=none (score=fid_only) compares synthetic_dir with real_dir; pass "
                             "synthetic_dir=<COCO folder from simgen render>")
        return
    if protocol in NEEDS_SYNTHETIC and synthetic_dir is None:
        raise ScoreError(f"score.protocol={protocol} needs synthetic_dir=<COCO folder from simgen render>")
    if protocol in NEEDS_REAL_TRAIN and real_train_dir is None:
        raise ScoreError(f"score.protocol={protocol} needs real_train_dir=<COCO folder of real training photos> "
                         "(never the held-out real_dir)")
    if real_train_dir is not None and Path(real_train_dir).resolve() == Path(real_dir).resolve():
        raise ScoreError("real_train_dir is the held-out real_dir: the detector must never train on the test "
                         "photos; split the real photos into two COCO folders")


def _check_no_leak(train: CocoSet, test: CocoSet) -> None:
    a = {p.resolve() for p in train.image_paths.values()}
    b = {p.resolve() for p in test.image_paths.values()}
    shared = a & b
    if shared:
        raise ScoreError(f"{len(shared)} real test images are also in the real training set (e.g. "
                         f"{sorted(shared)[0]}); the held-out real set must never be trained on: split them")


def _check_output_dir(output_dir, inputs: dict[str, Any]) -> Path:
    out = Path(output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ScoreError(f"output_dir {str(out)!r} is a file; choose a folder path for output_dir")
    for name, d in inputs.items():
        if d is not None and out.resolve() == Path(d).expanduser().resolve():
            raise ScoreError(f"output_dir is the {name} folder {str(d)!r}; scoring must not write into an input "
                             "set: choose another output_dir")
    return out


@dataclass
class ScoreInputs:
    """Validated inputs of one scoring run (what :func:`load_inputs` returns)."""

    real: CocoSet
    synth: CocoSet | None
    real_train: CocoSet | None
    labels: LabelSpace
    # training records per phase source role (None with detector=none)
    records: dict[str, list] | None
    out: Path
    warnings: list[str]


def load_inputs(synthetic_dir, real_dir, output_dir, s: ScoreSettings, *, real_train_dir=None) -> ScoreInputs:
    """Check every input of a scoring run without torch and without writing anything.

    Raises:
        ScoreError: one line naming the file, the entry, the problem and the fix.
    """
    train = s.detector != "none"
    _check_dirs(synthetic_dir, real_dir, real_train_dir, s.protocol, train)
    out = _check_output_dir(output_dir, {"real_dir": real_dir, "synthetic_dir": synthetic_dir,
                                         "real_train_dir": real_train_dir})
    real = load_coco(real_dir, "real", require_annotations=True)
    synth = load_coco(synthetic_dir, "synthetic", require_annotations=True) if synthetic_dir is not None else None
    real_train = None
    if train and real_train_dir is not None:
        real_train = load_coco(real_train_dir, "real train", require_annotations=True)
        _check_no_leak(real_train, real)
    train_sets = [d for d in (synth, real_train) if d is not None]
    labels = match_categories(real, train_sets)
    warnings: list[str] = []
    common = {_norm_name(n) for n in labels.names}
    for d in [real, *train_sets]:
        dropped = [c["name"] for c in d.categories if _norm_name(c["name"]) not in common]
        if dropped:
            warnings.append(f"{d.role} categories not scored (no match by name): {', '.join(dropped)}")
    real_ids = set(labels.to_label["real"])
    if not any(a["category_id"] in real_ids and not a.get("iscrowd", 0) for a in real.annotations):
        raise ScoreError(f"the real set {str(real.root)!r} has no objects of the scored categories "
                         f"({', '.join(labels.names)}); label the test photos (a score without objects means "
                         "nothing)")
    records = None
    if train:
        records = {}
        roles = ((["synthetic"] if s.protocol in NEEDS_SYNTHETIC else [])
                 + (["real train"] if s.protocol in NEEDS_REAL_TRAIN else []))
        for role in roles:
            ds = synth if role == "synthetic" else real_train
            assert ds is not None
            recs = training_targets(ds, labels.to_label[ds.role], min_visibility=s.min_visibility)
            if sum(len(r[2]) for r in recs) == 0:
                raise ScoreError(f"the {ds.role} set {str(ds.root)!r} has no objects of the scored categories "
                                 f"({', '.join(labels.names)}) with visibility >= score.min_visibility="
                                 f"{s.min_visibility}; nothing to train on")
            records[role] = recs
    return ScoreInputs(real=real, synth=synth, real_train=real_train, labels=labels, records=records, out=out,
                       warnings=warnings)


def _detections_to_coco(preds: list[dict], image_ids: list[int], labels: LabelSpace, role: str) -> list[dict]:
    """Detector outputs (contiguous labels, boxes_xyxy) -> COCO results with the real set's category ids."""
    to_cat = labels.to_cat_id[role]
    out = []
    for iid, det in zip(image_ids, preds):
        boxes = det["boxes"].numpy().astype(np.float64)
        for (x0, y0, x1, y1), s, lab in zip(boxes, det["scores"].numpy(), det["labels"].numpy()):
            if int(lab) not in to_cat:
                continue
            out.append({"image_id": int(iid), "category_id": int(to_cat[int(lab)]),
                        "bbox": [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2),
                                 round(float(y1 - y0), 2)], "score": round(float(s), 5)})
    return out


def _fid_items(ds: CocoSet, crops: bool, cat_ids: set[int], min_size: int) -> list:
    from simgen.eval.fid import ImageItem

    if not crops:
        return [ImageItem(ds.image_paths[int(im["id"])]) for im in ds.images]
    items = []
    for a in ds.annotations:
        x, y, w, h = (float(v) for v in a["bbox"])
        if int(a["category_id"]) in cat_ids and min(w, h) >= min_size:
            items.append(ImageItem(ds.image_paths[int(a["image_id"])], (x, y, w, h)))
    return items


def score_datasets(synthetic_dir: str | Path | None, real_dir: str | Path, output_dir: str | Path,
                   settings: ScoreSettings | None = None, *, real_train_dir: str | Path | None = None,
                   seed: int = 0, device: str = "auto", extractor: Any = None) -> dict:
    """Train a detector per ``settings.protocol``, evaluate on the real set, measure FID/KID and coverage.

    With ``settings.detector == "none"`` (preset ``score=fid_only``) no detector is trained or evaluated: the
    report holds FID/KID and coverage only (``detector_trained: false``, mAP fields null).

    Every input is checked first (:func:`load_inputs`, no torch, nothing written); then writes into
    ``output_dir``: report.json, report.md, detections.json (COCO results on the real set), plots (PNG),
    checkpoints/. Returns the report dict (as in report.json).

    Args:
        synthetic_dir: COCO folder of synthetic images (may be None with protocol ``real``).
        real_dir: COCO folder of held-out real photos (test only).
        settings: the ``score`` settings (defaults when None).
        real_train_dir: COCO folder of real training photos (protocols real, synthetic_then_real, mixed).
        seed: seeds model init, sampling, augmentation and FID subsets.
        device: auto, cpu or cuda.
        extractor: a FeatureExtractor to use for FID/KID instead of ``settings.fid.extractor`` (tests).
    Raises:
        ScoreError: bad input (missing/invalid COCO, no images, no common categories, ...).
    """
    s = settings or ScoreSettings()
    s.validate()
    timer = PhaseTimer()
    t_start = time.perf_counter()
    with timer("check_inputs"):
        inputs = load_inputs(synthetic_dir, real_dir, output_dir, s, real_train_dir=real_train_dir)
    with timer("import_torch"):
        import torch
    threads_before = torch.get_num_threads()
    if s.num_threads > 0:
        torch.set_num_threads(s.num_threads)
    try:
        return _score(inputs, synthetic_dir, real_dir, s, real_train_dir=real_train_dir, seed=seed, device=device,
                      extractor=extractor, timer=timer, t_start=t_start)
    finally:
        torch.set_num_threads(threads_before)


def _train_and_test(inputs: ScoreInputs, synthetic_dir, real_train_dir, s: ScoreSettings, *, seed: int, dev,
                    timer: PhaseTimer) -> tuple[list, Any, list[dict], float]:
    """Build and train the detector, detect on the real set, evaluate. Returns (results, eval, dets, eval s)."""
    import torch

    from simgen.eval.coco_eval import evaluate_detections
    from simgen.eval.detector import DetectorSpec, build_detector
    from simgen.eval.report import write_json
    from simgen.eval.train import predict, train_detector

    real, labels, out = inputs.real, inputs.labels, inputs.out
    recs = inputs.records or {}
    with timer("build_detector"):
        torch.manual_seed(seed)
        spec = DetectorSpec(detector=s.detector, backbone=s.backbone, weights=s.weights,
                            num_classes=labels.num_classes, min_size=s.image_size, max_size=s.resolved_max_size,
                            trainable_backbone_layers=s.trainable_backbone_layers, fpn_channels=s.fpn_channels,
                            score_threshold=s.score_threshold, max_detections=s.max_detections,
                            rpn_proposals_train=s.rpn_proposals_train, rpn_proposals_test=s.rpn_proposals_test)
        model = build_detector(spec)

    phases: list[tuple[str, list, list[float], int, float]] = []
    ckdir = out / "checkpoints"
    if s.protocol == "synthetic":
        phases.append(("synthetic", [recs["synthetic"]], [1.0], s.iterations, s.lr))
    elif s.protocol == "real":
        phases.append(("real", [recs["real train"]], [1.0], s.iterations, s.lr))
    elif s.protocol == "synthetic_then_real":
        phases.append(("synthetic", [recs["synthetic"]], [1.0], s.iterations, s.lr))
        phases.append(("finetune_real", [recs["real train"]], [1.0], s.finetune_iterations,
                       s.lr * s.finetune_lr_scale))
    else:  # mixed
        phases.append(("mixed", [recs["synthetic"], recs["real train"]], [s.mix_ratio, 1.0 - s.mix_ratio],
                       s.iterations, s.lr))
    # checkpoints resume only a run with the same data and training settings
    train_keys = {k: v for k, v in dataclasses.asdict(s).items()
                  if k not in ("fid", "coverage", "coverage_max_images", "n_draw", "draw_threshold", "log_every",
                               "resume", "checkpoint_every", "num_workers", "num_threads", "score_threshold",
                               "max_detections", "rpn_proposals_test")}
    fp_base = json.dumps([train_keys, str(synthetic_dir), str(real_train_dir), list(labels.names)], sort_keys=True)
    results = []
    with timer("train"):
        for k, (tag, sources, weights, iters, lr) in enumerate(phases):
            if iters <= 0:
                continue
            log.info("training phase %s: %d iterations on %s images", tag, iters,
                     " + ".join(str(len(x)) for x in sources))
            results.append((tag, train_detector(model, sources, weights, s, iterations=iters, lr=lr, device=dev,
                                                seed=seed + 1000 * k, checkpoint_path=ckdir / f"{tag}.pt", tag=tag,
                                                fingerprint=hashlib.sha1(fp_base.encode()).hexdigest())))
        ckdir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), ckdir / "model_final.pt")

    image_ids = [int(im["id"]) for im in real.images]
    t_eval = time.perf_counter()
    with timer("detect_real"):
        preds = predict(model, [real.image_paths[i] for i in image_ids], dev, batch_size=s.batch_size)
    with timer("coco_eval"):
        dets = _detections_to_coco(preds, image_ids, labels, "real")
        write_json(out / "detections.json", dets)
        real_cat_ids = sorted(labels.to_label["real"])
        ev = evaluate_detections(real.coco, dets, real_cat_ids)
    eval_time = time.perf_counter() - t_eval
    log.info("real set: mAP %.3f, AP50 %.3f, AP75 %.3f (%d detections on %d images)", ev.metrics["map"],
             ev.metrics["ap50"], ev.metrics["ap75"], len(dets), len(image_ids))
    return results, ev, dets, eval_time


def _score(inputs: ScoreInputs, synthetic_dir, real_dir, s: ScoreSettings, *, real_train_dir, seed: int,
           device: str, extractor: Any, timer: PhaseTimer, t_start: float) -> dict:
    import torch
    import torchvision

    from simgen.eval.report import write_report
    from simgen.eval.train import resolve_device

    real, synth, real_train, labels = inputs.real, inputs.synth, inputs.real_train, inputs.labels
    warnings = list(inputs.warnings)
    trained = s.detector != "none"
    out = inputs.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScoreError(f"cannot create output_dir {str(out)!r} ({exc.strerror}); choose a writable output_dir"
                         ) from None
    dev = resolve_device(device)
    log.info("scoring %d classes (%s); %s; device %s", labels.num_classes, ", ".join(labels.names),
             f"protocol {s.protocol}" if trained else "no detector (FID/KID and coverage only)", dev)

    results: list = []
    ev = None
    dets: list[dict] = []
    eval_time = None
    if trained:
        results, ev, dets, eval_time = _train_and_test(inputs, synthetic_dir, real_train_dir, s, seed=seed,
                                                       dev=dev, timer=timer)
    train_time = sum(r.seconds for _, r in results) if trained else None
    image_ids = [int(im["id"]) for im in real.images]

    rng = np.random.default_rng(np.random.SeedSequence([seed, 31337]))  # FID subsets, then coverage samples
    other = synth if synth is not None else real_train
    fid_info = fid_crops = None
    if s.fid.enabled and other is not None:
        fid_info, fid_crops = _distances(real, other, other is synth, labels, s, rng, extractor, dev, timer,
                                         warnings)
    plot_paths: list[Path] = []
    coverage = None
    if s.coverage and other is not None:
        coverage, cov_plots = _coverage(real, other, other is synth, labels, s, rng, timer, out)
        plot_paths += cov_plots
    if trained:
        from simgen.eval import plots

        with timer("plots"):
            plot_paths.append(plots.plot_pr_curves(ev, out / "pr_curves.png"))
            if results:
                plot_paths.append(plots.plot_losses([(t, r.losses) for t, r in results], out / "loss.png"))
        if s.n_draw > 0:
            with timer("draw"):
                plot_paths.append(_draw_detections(real, labels, image_ids, dets, s, out))

    # ---- report ----------------------------------------------------------------------------------------------
    total_iters = sum(r.iterations for _, r in results)
    first = [r.losses for _, r in results if r.losses]
    n_train = {}
    if trained and s.protocol in NEEDS_SYNTHETIC:
        n_train["synthetic"] = len(synth)
    if trained and s.protocol in NEEDS_REAL_TRAIN:
        n_train["real_train"] = len(real_train)
    metrics = ev.metrics if ev is not None else {}
    report: dict[str, Any] = {
        "detector_trained": trained,
        **{k: metrics.get(k) for k in ("map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")},
        "ar_100": metrics.get("ar_100"),
        "per_class": ev.per_class if ev is not None else {},
        "fid": fid_info["fid"] if fid_info else None,
        "kid": fid_info["kid"] if fid_info else None,
        "fid_info": fid_info,
        "fid_crops": fid_crops,
        "headline_distance": (fid_info or {}).get("headline"),
        "detector": s.detector, "backbone": s.backbone if trained else None,
        "weights": s.weights if trained else None,
        "image_size": s.image_size if trained else None, "max_size": s.resolved_max_size if trained else None,
        "protocol": s.protocol if trained else None,
        "mix_ratio": s.mix_ratio if trained and s.protocol == "mixed" else None,
        "iterations": total_iters,
        "train_time_s": train_time,
        "eval_time_s": eval_time,
        "total_time_s": time.perf_counter() - t_start,
        "training": {
            "batch_size": s.batch_size if trained else None,
            "phases": [{"tag": t, "iterations": r.iterations, "resumed_from": r.start_iteration,
                        "seconds": r.seconds, "images_per_second": r.images_per_second,
                        "loss_first_20": float(np.mean(r.losses[:20])) if r.losses else None,
                        "loss_last_20": float(np.mean(r.losses[-20:])) if r.losses else None} for t, r in results],
            "images_per_second": (sum(r.images_per_second * r.seconds for _, r in results) / train_time
                                  if train_time else None),
        },
        "loss_start": float(np.mean(first[0][:20])) if first else None,
        "loss_end": float(np.mean(first[-1][-20:])) if first else None,
        "n_train_images": n_train,
        "n_synthetic_images": len(synth) if synth is not None else None,
        "n_test_images": len(real),
        "n_test_objects": (int(sum(pc["n_gt"] for pc in ev.per_class.values())) if ev is not None else
                           sum(1 for a in real.annotations if a["category_id"] in labels.to_label["real"]
                               and not a.get("iscrowd", 0))),
        "n_detections": len(dets) if trained else None,
        "categories": list(labels.names),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "seed": seed,
        "synthetic_dir": str(synthetic_dir) if synthetic_dir is not None else None,
        "real_dir": str(real_dir),
        "real_train_dir": str(real_train_dir) if real_train_dir is not None else None,
        "coverage": coverage,
        "plots": [p.name for p in plot_paths],
        "detections_file": "detections.json" if trained else None,
        "settings": dataclasses.asdict(s),
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
        "warnings": warnings,
    }
    if not trained:
        report["note"] = ("no detector was trained (score.detector=none, e.g. score=fid_only): this report holds "
                          "FID/KID and coverage only; mAP/AP are not measured")
    with timer("report"):
        report["timing"] = timer.as_dict()
        write_report(out, report)
    timer.log_table()
    log.info("wrote %s and %s", out / "report.json", out / "report.md")
    return json.loads((out / "report.json").read_text())


def _distances(real: CocoSet, other: CocoSet, other_is_synthetic: bool, labels: LabelSpace, s: ScoreSettings,
               rng: np.random.Generator, extractor: Any, dev, timer: PhaseTimer, warnings: list[str]):
    """FID/KID between ``other`` (the synthetic set, else the real training set) and the real test set, on whole
    images and (score.fid.crops) on object crops -> (fid_info, fid_crops or None)."""
    from simgen.eval.fid import compare_sets, make_extractor

    with timer("fid_model"):
        ext = extractor or make_extractor(s.fid.extractor, s.fid.path, dev)
    kw = dict(n=s.fid.n, resize=s.fid.resize, batch_size=s.fid.batch_size, kid_subsets=s.fid.kid_subsets,
              kid_subset_size=s.fid.kid_subset_size, context=s.fid.crop_context)
    other_ids = set(labels.to_label[other.role])
    fid_crops = None
    with timer("fid_features"):
        fid_info = compare_sets(_fid_items(other, False, other_ids, 0), _fid_items(real, False, set(), 0),
                                ext, rng=rng, what="whole images", **kw)
        if not other_is_synthetic:
            fid_info["note"] = "no synthetic set: distance between the real training and real test images"
        if s.fid.crops:
            a = _fid_items(other, True, other_ids, s.fid.crop_min_size)
            b = _fid_items(real, True, set(labels.to_label["real"]), s.fid.crop_min_size)
            if a and b:
                fid_crops = compare_sets(a, b, ext, rng=rng, what="object crops", **kw)
            else:
                warnings.append("FID on crops skipped: no boxes of at least score.fid.crop_min_size px")
    return fid_info, fid_crops


def _coverage(real: CocoSet, other: CocoSet, other_is_synthetic: bool, labels: LabelSpace, s: ScoreSettings,
              rng: np.random.Generator, timer: PhaseTimer, out: Path) -> tuple[dict, list[Path]]:
    """Where the synthetic (else real training) ranges miss the real test set: gaps, class balance, plots."""
    from simgen.eval import coverage as cov

    with timer("coverage_stats"):
        names_other = {cid: labels.names[lab - 1] for cid, lab in labels.to_label[other.role].items()}
        names_real = {cid: labels.names[lab - 1] for cid, lab in labels.to_label["real"].items()}
        st_o = cov.set_stats(other, names_other, max_images=s.coverage_max_images, rng=rng)
        st_o.name = "synthetic" if other_is_synthetic else other.role
        st_r = cov.set_stats(real, names_real, max_images=s.coverage_max_images, rng=rng)
        st_r.name = "real"
        gaps = cov.coverage_gaps(st_o, st_r)
        coverage = {"gaps": gaps, "class_balance": {st_o.name: cov.class_balance(st_o, list(labels.names)),
                                                    "real": cov.class_balance(st_r, list(labels.names))}}
    with timer("coverage_plots"):
        plots = cov.plot_coverage(st_o, st_r, list(labels.names), out)
    return coverage, plots


def _draw_detections(real: CocoSet, labels: LabelSpace, image_ids: list[int], dets: list[dict], s: ScoreSettings,
                     out: Path) -> Path:
    """A contact sheet of ``s.n_draw`` real images with ground truth and detections: ``detections_real.png``."""
    import cv2

    from simgen.eval import plots
    from simgen.eval.dataset import read_rgb

    names_real = {cid: labels.names[lab - 1] for cid, lab in labels.to_label["real"].items()}
    pick = np.linspace(0, len(image_ids) - 1, min(s.n_draw, len(image_ids))).round().astype(int)
    by_img: dict[int, list] = {}
    for d in dets:
        by_img.setdefault(d["image_id"], []).append(d)
    tiles = []
    for i in sorted(set(pick.tolist())):
        iid = image_ids[i]
        gt = [(a["bbox"], names_real.get(int(a["category_id"]), "?")) for a in real.anns_by_image[iid]
              if int(a["category_id"]) in names_real]
        dd = [(d["bbox"], names_real[d["category_id"]], d["score"]) for d in by_img.get(iid, [])]
        tiles.append(plots.draw_detections(read_rgb(real.image_paths[iid]), gt, dd, s.draw_threshold))
    sheet = plots.contact_sheet(tiles, cols=min(3, len(tiles)))
    p = out / "detections_real.png"
    cv2.imwrite(str(p), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return p
