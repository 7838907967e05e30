#!/usr/bin/env python
"""Sim-to-real benchmark: render the ycb_video scene, train a detector on it, score on real YCB-Video photos.

    python benchmarks/ycb_sim2real.py --real ../shared/real/ycbv_dev --ycb ../shared/ycb --n-images 1000 \
        --out out/bench_ycb score.iterations=1500

Steps: (1) ``simgen render scene=ycb_video assets.root=<ycb> n_images=N output_dir=<out>/synthetic`` (skipped
when that folder already holds a finished dataset, or with --synthetic DIR); (2) ``simgen score`` settings
composed from conf/score.yaml plus any ``key=value`` overrides given after the options (e.g.
``score.iterations=1500 score=quick``); (3) prints mAP, AP50, per-class AP, FID/KID, N, iterations, time.

Real-only baseline (--protocol real): the real folder is split by video (image field ``scene``): training on
--train-scenes, testing on --test-scenes (default 0001 / 0049). With --test-scenes alone, the synthetic-trained
detector is scored on those videos only (same test set as the baseline). Split folders are written under
<out>/real_split with symlinked images (nothing copied).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

log = logging.getLogger("ycb_sim2real")


def render(ycb: Path, n: int, out: Path, seed: int, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "simgen.cli.main", "render", "scene=ycb_video", f"assets.root={ycb}",
           f"n_images={n}", f"output_dir={out}", f"seed={seed}", *extra]
    log.info("render: %s", " ".join(cmd))
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    return time.perf_counter() - t0


def compose_settings(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from simgen.cli.configs import register_all as register_configs
    from simgen.cli.configs import score_settings

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="score", overrides=overrides)
    return score_settings(cfg.score)


def split_by_scene(real: Path, dst: Path, scenes: list[str]) -> Path:
    from simgen.eval.data import subset_coco

    def keep(im: dict) -> bool:
        scene = str(im.get("scene", Path(im["file_name"]).name.split("_")[0]))
        return scene in scenes

    return subset_coco(real, dst, keep)


def per_scene(real_dir: Path, detections: Path) -> dict[str, dict]:
    """mAP / AP50 per real video (image field ``scene``) from a detections.json on ``real_dir``."""
    from simgen.eval.coco_eval import evaluate_detections
    from simgen.eval.data import load_coco

    real = load_coco(real_dir, "real")
    dets = json.loads(detections.read_text())
    scenes = sorted({str(im.get("scene", "")) for im in real.images})
    out = {}
    for sc in scenes:
        ids = {int(im["id"]) for im in real.images if str(im.get("scene", "")) == sc}
        gt = dict(real.coco, images=[im for im in real.images if int(im["id"]) in ids],
                  annotations=[a for a in real.annotations if int(a["image_id"]) in ids])
        cats = sorted({int(a["category_id"]) for a in gt["annotations"]})
        res = evaluate_detections(gt, [d for d in dets if d["image_id"] in ids], cats)
        out[sc] = {"n_images": len(ids), "map": res.metrics["map"], "ap50": res.metrics["ap50"]}
    return out


def fmt(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", required=True, type=Path, help="real COCO folder (e.g. ../shared/real/ycbv_dev)")
    ap.add_argument("--ycb", type=Path, default=REPO.parent / "shared" / "ycb", help="YCB assets root")
    ap.add_argument("--n-images", type=int, default=1000, help="synthetic images to render")
    ap.add_argument("--synthetic", type=Path, default=None, help="use this rendered COCO folder (no render)")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "bench_ycb")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--protocol", default="synthetic", choices=["synthetic", "real", "synthetic_then_real", "mixed"])
    ap.add_argument("--train-scenes", default="0001", help="real videos to train on (comma list; protocols "
                    "real/synthetic_then_real/mixed)")
    ap.add_argument("--test-scenes", default=None, help="real videos to test on (comma list; default: all, or "
                    "0049 when real training is involved)")
    ap.add_argument("--render-arg", action="append", default=[], help="extra `simgen render` override (repeat)")
    ap.add_argument("overrides", nargs="*", help="score overrides, e.g. score.iterations=1500 score=quick")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from simgen.eval import score_datasets

    args.out.mkdir(parents=True, exist_ok=True)
    settings = compose_settings([*args.overrides, f"score.protocol={args.protocol}"])
    render_s = None
    syn = args.synthetic
    if syn is None and args.protocol != "real":
        syn = args.out / "synthetic"
        if (syn / "annotations.json").is_file() and (syn / "manifest.json").is_file():
            log.info("using the finished render in %s (delete it to re-render)", syn)
        else:
            render_s = render(args.ycb, args.n_images, syn, args.seed, args.render_arg)

    real_test, real_train = args.real, None
    needs_real_train = args.protocol != "synthetic"
    test_scenes = args.test_scenes or ("0049" if needs_real_train else None)
    if test_scenes:
        real_test = split_by_scene(args.real, args.out / "real_split" / f"test_{test_scenes.replace(',', '_')}",
                                   test_scenes.split(","))
    if needs_real_train:
        train_scenes = args.train_scenes.split(",")
        if set(train_scenes) & set((test_scenes or "").split(",")):
            sys.exit("--train-scenes and --test-scenes overlap: the real test photos must never be trained on")
        real_train = split_by_scene(args.real, args.out / "real_split" / f"train_{'_'.join(train_scenes)}",
                                    train_scenes)
    run_dir = args.out / (f"score_{args.protocol}" + (f"_test{test_scenes.replace(',', '_')}" if test_scenes else ""))
    rep = score_datasets(syn, real_test, run_dir, settings, real_train_dir=real_train, seed=args.seed,
                         device=args.device)
    fi = rep.get("fid_info") or {}
    lines = [
        "",
        f"== ycb_sim2real: protocol {rep['protocol']}, test {real_test} ({rep['n_test_images']} images, "
        f"{rep['n_test_objects']} objects) ==",
        f"mAP@[.5:.95] {fmt(rep['map'])}  AP50 {fmt(rep['ap50'])}  AP75 {fmt(rep['ap75'])}",
        "per-class AP: " + ", ".join(f"{k} {fmt(v['ap'])}" for k, v in rep["per_class"].items()),
        "FID/KID off" if not fi else f"FID {fmt(rep['fid'])}  KID {fmt(rep['kid'])} ± {fmt(fi.get('kid_std'))}  (N "
        f"{'synthetic' if syn is not None else 'real train'} {fi.get('n_synthetic')}, real test {fi.get('n_real')}, "
        f"{fi.get('resolution')}px, {fi.get('resize')}; headline {fi.get('headline')})",
        f"train images {rep['n_train_images']}, iterations {rep['iterations']} x batch {settings.batch_size}, "
        f"image size {rep['image_size']}, train time {rep['train_time_s']:.0f} s "
        f"({rep['training']['images_per_second'] or 0:.2f} img/s), device {rep['device']}"
        + (f", render time {render_s:.0f} s" if render_s else ""),
        f"report: {run_dir / 'report.md'}",
    ]
    if len({str(im.get("scene", "")) for im in json.loads((Path(real_test) / "annotations.json").read_text())["images"]}) > 1:
        for sc, m in per_scene(Path(real_test), run_dir / "detections.json").items():
            lines.insert(-1, f"  video {sc}: {m['n_images']} images, mAP {fmt(m['map'])}, AP50 {fmt(m['ap50'])}")
    print("\n".join(lines))
    (run_dir / "benchmark.json").write_text(json.dumps({"render_seconds": render_s, "command": sys.argv,
                                                        "report": str(run_dir / "report.json")}, indent=2))


if __name__ == "__main__":
    main()
