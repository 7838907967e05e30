"""``score_datasets``: train a detector (synthetic and/or real), test on real photos, FID/KID, coverage, report."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import ScoreError
from simgen.eval.data import CocoSet, LabelSpace, _norm_name, load_coco, match_categories, training_targets
from simgen.eval.schema import ScoreSettings

log = logging.getLogger(__name__)

NEEDS_SYNTHETIC = ("synthetic", "synthetic_then_real", "mixed")
NEEDS_REAL_TRAIN = ("real", "synthetic_then_real", "mixed")


def _check_dirs(synthetic_dir, real_dir, real_train_dir, protocol: str) -> None:
    if real_dir is None:
        raise ScoreError("real_dir is not set; pass real_dir=<COCO folder of real photos> (the held-out test set)")
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

    Writes into ``output_dir``: report.json, report.md, detections.json (COCO results on the real set),
    plots (PNG), checkpoints/. Returns the report dict (as in report.json).

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
    import torch

    s = settings or ScoreSettings()
    s.validate()
    threads_before = torch.get_num_threads()
    if s.num_threads > 0:
        torch.set_num_threads(s.num_threads)
    try:
        return _score(synthetic_dir, real_dir, output_dir, s, real_train_dir=real_train_dir, seed=seed,
                      device=device, extractor=extractor)
    finally:
        torch.set_num_threads(threads_before)


def _score(synthetic_dir, real_dir, output_dir, s: ScoreSettings, *, real_train_dir, seed: int, device: str,
           extractor: Any) -> dict:
    import torch
    import torchvision

    from simgen.eval import coverage as cov
    from simgen.eval import plots
    from simgen.eval.coco_eval import evaluate_detections
    from simgen.eval.detector import DetectorSpec, build_detector
    from simgen.eval.report import write_json, write_report
    from simgen.eval.train import predict, resolve_device, train_detector

    t_start = time.perf_counter()
    _check_dirs(synthetic_dir, real_dir, real_train_dir, s.protocol)
    real = load_coco(real_dir, "real")
    synth = load_coco(synthetic_dir, "synthetic") if synthetic_dir is not None else None
    real_train = load_coco(real_train_dir, "real train") if real_train_dir is not None else None
    if real_train is not None:
        _check_no_leak(real_train, real)
    train_sets = [d for d in (synth, real_train) if d is not None]
    labels = match_categories(real, train_sets)
    warnings: list[str] = []
    common = {_norm_name(n) for n in labels.names}
    for d in [real, *train_sets]:
        dropped = [c["name"] for c in d.categories if _norm_name(c["name"]) not in common]
        if dropped:
            warnings.append(f"{d.role} categories not scored (no match by name): {', '.join(dropped)}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    log.info("scoring %d classes (%s); protocol %s; device %s", labels.num_classes, ", ".join(labels.names),
             s.protocol, dev)

    # ---- detector ------------------------------------------------------------------------------------------
    torch.manual_seed(seed)
    spec = DetectorSpec(detector=s.detector, backbone=s.backbone, weights=s.weights,
                        num_classes=labels.num_classes, min_size=s.image_size, max_size=s.resolved_max_size,
                        trainable_backbone_layers=s.trainable_backbone_layers, fpn_channels=s.fpn_channels,
                        score_threshold=s.score_threshold, max_detections=s.max_detections)
    model = build_detector(spec)

    def records(ds: CocoSet) -> list:
        recs = training_targets(ds, labels.to_label[ds.role], min_visibility=s.min_visibility)
        n_obj = sum(len(r[2]) for r in recs)
        if n_obj == 0:
            raise ScoreError(f"the {ds.role} set {str(ds.root)!r} has no objects of the scored categories "
                             f"({', '.join(labels.names)}); nothing to train on")
        return recs

    phases: list[tuple[str, list, list[float], int, float]] = []
    ckdir = out / "checkpoints"
    if s.protocol == "synthetic":
        phases.append(("synthetic", [records(synth)], [1.0], s.iterations, s.lr))
    elif s.protocol == "real":
        phases.append(("real", [records(real_train)], [1.0], s.iterations, s.lr))
    elif s.protocol == "synthetic_then_real":
        phases.append(("synthetic", [records(synth)], [1.0], s.iterations, s.lr))
        phases.append(("finetune_real", [records(real_train)], [1.0], s.finetune_iterations,
                       s.lr * s.finetune_lr_scale))
    else:  # mixed
        phases.append(("mixed", [records(synth), records(real_train)], [s.mix_ratio, 1.0 - s.mix_ratio],
                       s.iterations, s.lr))
    # checkpoints resume only a run with the same data and training settings
    train_keys = {k: v for k, v in dataclasses.asdict(s).items()
                  if k not in ("fid", "coverage", "coverage_max_images", "n_draw", "draw_threshold", "log_every",
                               "resume", "checkpoint_every", "num_workers", "num_threads", "score_threshold",
                               "max_detections")}
    fp_base = json.dumps([train_keys, str(synthetic_dir), str(real_train_dir), list(labels.names)], sort_keys=True)
    results = []
    for k, (tag, sources, weights, iters, lr) in enumerate(phases):
        if iters <= 0:
            continue
        log.info("training phase %s: %d iterations on %s images", tag, iters,
                 " + ".join(str(len(x)) for x in sources))
        results.append((tag, train_detector(model, sources, weights, s, iterations=iters, lr=lr, device=dev,
                                            seed=seed + 1000 * k, checkpoint_path=ckdir / f"{tag}.pt", tag=tag,
                                            fingerprint=hashlib.sha1(fp_base.encode()).hexdigest())))
    train_time = sum(r.seconds for _, r in results)
    ckdir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), ckdir / "model_final.pt")

    # ---- evaluation on real ----------------------------------------------------------------------------------
    image_ids = [int(im["id"]) for im in real.images]
    t_eval = time.perf_counter()
    preds = predict(model, [real.image_paths[i] for i in image_ids], dev, batch_size=s.batch_size)
    dets = _detections_to_coco(preds, image_ids, labels, "real")
    write_json(out / "detections.json", dets)
    real_cat_ids = sorted(labels.to_label["real"])
    ev = evaluate_detections(real.coco, dets, real_cat_ids)
    eval_time = time.perf_counter() - t_eval
    log.info("real set: mAP %.3f, AP50 %.3f, AP75 %.3f (%d detections on %d images)", ev.metrics["map"],
             ev.metrics["ap50"], ev.metrics["ap75"], len(dets), len(image_ids))

    # ---- FID / KID -------------------------------------------------------------------------------------------
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31337]))
    fid_info = fid_crops = None
    other = synth if synth is not None else real_train
    if s.fid.enabled and other is not None:
        from simgen.eval.fid import compare_sets, make_extractor

        ext = extractor or make_extractor(s.fid.extractor, s.fid.path, dev)
        kw = dict(n=s.fid.n, resize=s.fid.resize, batch_size=s.fid.batch_size, kid_subsets=s.fid.kid_subsets,
                  kid_subset_size=s.fid.kid_subset_size, context=s.fid.crop_context)
        other_ids = set(labels.to_label[other.role])
        fid_info = compare_sets(_fid_items(other, False, other_ids, 0), _fid_items(real, False, set(), 0), ext,
                                rng=rng, what="whole images", **kw)
        if other is not synth:
            fid_info["note"] = "no synthetic set: distance between the real training and real test images"
        if s.fid.crops:
            a = _fid_items(other, True, other_ids, s.fid.crop_min_size)
            b = _fid_items(real, True, set(real_cat_ids), s.fid.crop_min_size)
            if a and b:
                fid_crops = compare_sets(a, b, ext, rng=rng, what="object crops", **kw)
            else:
                warnings.append("FID on crops skipped: no boxes of at least score.fid.crop_min_size px")

    # ---- coverage + plots --------------------------------------------------------------------------------------
    plot_paths: list[Path] = []
    coverage = None
    if s.coverage and other is not None:
        names_other = {cid: labels.names[lab - 1] for cid, lab in labels.to_label[other.role].items()}
        names_real = {cid: labels.names[lab - 1] for cid, lab in labels.to_label["real"].items()}
        st_o = cov.set_stats(other, names_other, max_images=s.coverage_max_images, rng=rng)
        st_o.name = "synthetic" if other is synth else other.role
        st_r = cov.set_stats(real, names_real, max_images=s.coverage_max_images, rng=rng)
        st_r.name = "real"
        gaps = cov.coverage_gaps(st_o, st_r)
        coverage = {"gaps": gaps, "class_balance": {st_o.name: cov.class_balance(st_o, list(labels.names)),
                                                    "real": cov.class_balance(st_r, list(labels.names))}}
        plot_paths += cov.plot_coverage(st_o, st_r, list(labels.names), out)
    plot_paths.append(plots.plot_pr_curves(ev, out / "pr_curves.png"))
    if results:
        plot_paths.append(plots.plot_losses([(t, r.losses) for t, r in results], out / "loss.png"))
    if s.n_draw > 0:
        import cv2

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
        plot_paths.append(p)

    # ---- report ----------------------------------------------------------------------------------------------
    total_iters = sum(r.iterations for _, r in results)
    first = [r.losses for _, r in results if r.losses]
    n_train = {}
    if s.protocol in NEEDS_SYNTHETIC:
        n_train["synthetic"] = len(synth)
    if s.protocol in NEEDS_REAL_TRAIN:
        n_train["real_train"] = len(real_train)
    report: dict[str, Any] = {
        **{k: ev.metrics[k] for k in ("map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")},
        "ar_100": ev.metrics["ar_100"],
        "per_class": ev.per_class,
        "fid": fid_info["fid"] if fid_info else None,
        "kid": fid_info["kid"] if fid_info else None,
        "fid_info": fid_info,
        "fid_crops": fid_crops,
        "headline_distance": (fid_info or {}).get("headline"),
        "detector": s.detector, "backbone": s.backbone, "weights": s.weights,
        "image_size": s.image_size, "max_size": s.resolved_max_size,
        "protocol": s.protocol, "mix_ratio": s.mix_ratio if s.protocol == "mixed" else None,
        "iterations": total_iters,
        "train_time_s": train_time,
        "eval_time_s": eval_time,
        "total_time_s": time.perf_counter() - t_start,
        "training": {
            "batch_size": s.batch_size,
            "phases": [{"tag": t, "iterations": r.iterations, "resumed_from": r.start_iteration,
                        "seconds": r.seconds, "images_per_second": r.images_per_second,
                        "loss_first_20": float(np.mean(r.losses[:20])) if r.losses else None,
                        "loss_last_20": float(np.mean(r.losses[-20:])) if r.losses else None} for t, r in results],
            "images_per_second": (sum(r.images_per_second * r.seconds for _, r in results) / train_time
                                  if train_time > 0 else None),
        },
        "loss_start": float(np.mean(first[0][:20])) if first else None,
        "loss_end": float(np.mean(first[-1][-20:])) if first else None,
        "n_train_images": n_train,
        "n_test_images": len(real),
        "n_test_objects": int(sum(pc["n_gt"] for pc in ev.per_class.values())),
        "n_detections": len(dets),
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
        "detections_file": "detections.json",
        "settings": dataclasses.asdict(s),
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
        "warnings": warnings,
    }
    write_report(out, report)
    log.info("wrote %s and %s", out / "report.json", out / "report.md")
    return json.loads((out / "report.json").read_text())
