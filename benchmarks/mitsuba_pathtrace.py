"""Path-traced colour (Mitsuba 3) next to the raster path on settled scenes: seconds per image and quality vs spp.

    # seconds per image, one (spp, denoise) per run (each run draws the same settled scenes)
    python benchmarks/mitsuba_pathtrace.py time --scene ycb_video --spp 16 --denoise none --samples 0 1 2
    python benchmarks/mitsuba_pathtrace.py time --scene ycb_video --spp 64 --denoise oidn --samples 0 1 2
    # a high-spp reference of one sample, in chunks of --spp (each a separate run, averaged in linear radiance)
    python benchmarks/mitsuba_pathtrace.py reference --scene ycb_video --samples 0 --spp 64 --chunk 0 ...
    # PSNR of (spp, denoise) against the reference
    python benchmarks/mitsuba_pathtrace.py psnr --scene ycb_video --samples 0 --spp 16 --denoise oidn

Scenes come from the pipeline (``Generator(cfg).make_scene(i, sample_rng(seed, i))``), so sample ``i`` is the
same scene in every run. Raster time is ``PyrenderRenderer.render`` (colour + id pass, as the pipeline pays it).
Results are appended as JSON lines to ``--out``/results.jsonl, with wall and process-CPU seconds and the load
average (the machines this runs on are shared); side-by-side PNGs (raster | path traced) go to ``--out``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose, scene_parser  # noqa: E402

import numpy as np  # noqa: E402


def _scenes(cfg, indices):
    """[(index, Scene, raster rgb, raster seconds wall, raster seconds cpu)] for the given sample indices."""
    from simgen.run.worker import Generator, sample_rng

    out = []
    with Generator(cfg) as g:
        for i in indices:
            scene = g.make_scene(i, sample_rng(cfg.seed, i))
            g.renderer.render(scene)  # warm
            t0, c0 = time.perf_counter(), time.process_time()
            frame = g.renderer.render(scene)
            out.append((i, scene, frame.rgb, time.perf_counter() - t0, time.process_time() - c0))
        catalog = g.catalog
    return out, catalog


def _save_side_by_side(path: Path, raster: np.ndarray, traced: np.ndarray) -> None:
    import cv2

    cv2.imwrite(str(path), np.concatenate([raster, traced], 1)[..., ::-1])


def _log(out: Path, row: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    row["loadavg_1min"] = round(os.getloadavg()[0], 2)
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def cmd_time(a) -> None:
    from simgen.renderers.mitsuba import MitsubaColourRenderer

    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    scenes, catalog = _scenes(cfg, a.samples)
    t0 = time.perf_counter()
    with MitsubaColourRenderer(a.width, a.height, spp=a.spp, max_depth=a.max_depth, denoise=a.denoise,
                               threads=a.threads) as r:
        r.prepare(catalog)
        prep = time.perf_counter() - t0
        for k, (i, scene, raster, rw, rc) in enumerate(scenes):
            t0, c0 = time.perf_counter(), time.process_time()
            rgb = r.render(scene, seed=i)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            _save_side_by_side(a.out / f"{a.scene}_{i}_spp{a.spp}_{a.denoise}.png", raster, rgb)
            _log(a.out, {"mode": "time", "scene": a.scene, "sample": i, "size": f"{a.width}x{a.height}",
                         "variant": r.variant, "spp": a.spp, "max_depth": a.max_depth, "denoise": a.denoise,
                         "threads": r.threads, "first": k == 0, "prepare_s": round(prep, 3),
                         "pathtrace_wall_s": round(wall, 3), "pathtrace_cpu_s": round(cpu, 3),
                         **{k2: round(v, 3) for k2, v in r.timings.items()},
                         "raster_wall_s": round(rw, 4), "raster_cpu_s": round(rc, 4)})


def _linear(r, scene, seed: int) -> np.ndarray:
    L = r.render_layers(scene, seed)
    return L["rgb"] + (1.0 - L["alpha"])[..., None] * L["background"]


def cmd_reference(a) -> None:
    from simgen.renderers.mitsuba import MitsubaColourRenderer

    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    scenes, catalog = _scenes(cfg, a.samples[:1])
    i, scene = scenes[0][0], scenes[0][1]
    with MitsubaColourRenderer(a.width, a.height, spp=a.spp, max_depth=a.max_depth, threads=a.threads) as r:
        r.prepare(catalog)
        for c in a.chunk:
            t0 = time.perf_counter()
            lin = _linear(r, scene, seed=10_000 + c)  # seeds no timed run uses
            np.save(a.out / f"ref_{a.scene}_{i}_{a.width}x{a.height}_spp{a.spp}_chunk{c}.npy", lin.astype(np.float32))
            _log(a.out, {"mode": "reference", "sample": i, "chunk": c, "spp": a.spp,
                         "wall_s": round(time.perf_counter() - t0, 2)})


def _psnr(x: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((x.astype(np.float64) - ref.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def cmd_psnr(a) -> None:
    from simgen.renderers.mitsuba import MitsubaColourRenderer, convert

    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    scenes, catalog = _scenes(cfg, a.samples[:1])
    i, scene, raster = scenes[0][0], scenes[0][1], scenes[0][2]
    chunks = sorted(a.out.glob(f"ref_{a.scene}_{i}_{a.width}x{a.height}_spp*_chunk*.npy"))
    if not chunks:
        raise SystemExit("no reference chunks; run the reference mode first")
    ref_spp = sum(int(p.name.split("_spp")[1].split("_")[0]) for p in chunks)
    ref = convert.display_transform(np.mean([np.load(p) for p in chunks], 0))
    import cv2

    cv2.imwrite(str(a.out / f"ref_{a.scene}_{i}_spp{ref_spp}.png"), ref[..., ::-1])
    with MitsubaColourRenderer(a.width, a.height, spp=a.spp, max_depth=a.max_depth, denoise=a.denoise,
                               threads=a.threads) as r:
        r.prepare(catalog)
        t0 = time.perf_counter()
        rgb = r.render(scene, seed=i)
        wall = time.perf_counter() - t0
    _save_side_by_side(a.out / f"psnr_{a.scene}_{i}_spp{a.spp}_{a.denoise}.png", ref, rgb)
    _log(a.out, {"mode": "psnr", "sample": i, "size": f"{a.width}x{a.height}", "spp": a.spp, "denoise": a.denoise,
                 "reference_spp": ref_spp, "psnr_db": round(_psnr(rgb, ref), 2),
                 "psnr_raster_vs_reference_db": round(_psnr(raster, ref), 2), "wall_s": round(wall, 2)})


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    ap = scene_parser(__doc__)
    ap.add_argument("mode", choices=["time", "reference", "psnr"])
    ap.add_argument("--samples", type=int, nargs="+", default=[0])
    ap.add_argument("--spp", type=int, default=16)
    ap.add_argument("--max-depth", type=int, default=8)
    ap.add_argument("--denoise", default="none")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--chunk", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/mitsuba"))
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    {"time": cmd_time, "reference": cmd_reference, "psnr": cmd_psnr}[a.mode](a)


if __name__ == "__main__":
    main()
