"""End-to-end throughput of `simgen render` (render + labels + PNG + COCO written) and peak RSS per worker.

    python benchmarks/throughput.py                      # default and ycb_video, 1 and 2 workers, 640x480
    python benchmarks/throughput.py --scenes default --workers 1 --n 64 --msaa false

Each configuration runs twice in a fresh subprocess (N/4 and N images); the steady-state rate is the marginal
rate (N - N/4) / (t_N - t_N/4), which removes process start, mesh/texture loading and GL set-up. The total rate
(N / t_N, start-up included) is printed too. Prints a markdown table and the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one(args: argparse.Namespace) -> None:
    """Child mode: render once, print JSON with seconds and peak RSS (self and workers)."""
    from simgen.config import RenderAppConfig
    from simgen.dataset import render_dataset

    cfg = RenderAppConfig(scene=args.scene, n_images=args.n, output_dir=args.out, workers=args.workers,
                          shard_size=args.shard_size, overwrite=True)
    cfg.render.width, cfg.render.height = args.width, args.height
    cfg.render.msaa = args.msaa == "true"
    cfg.export.preview = False
    if args.scene == "ycb_video":
        cfg.assets.root = args.ycb
    t0 = time.perf_counter()
    render_dataset(cfg)
    dt = time.perf_counter() - t0
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": dt, "rss_self_mb": self_kb / 1024, "rss_worker_mb": child_kb / 1024}))


def machine() -> dict:
    info = {"python": platform.python_version(), "cores": os.cpu_count(), "load": os.getloadavg()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def run_child(scene: str, workers: int, n: int, a: argparse.Namespace) -> dict:
    out = tempfile.mkdtemp(prefix="simgen_bench_")
    cmd = [sys.executable, __file__, "--child", "--scene", scene, "--workers", str(workers), "--n", str(n),
           "--out", out, "--width", str(a.width), "--height", str(a.height), "--ycb", a.ycb,
           "--shard-size", str(a.shard_size), "--msaa", a.msaa]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{r.stderr[-2000:]}")
    subprocess.run(["rm", "-rf", out])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", nargs="+", default=["default", "ycb_video"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--shard-size", type=int, default=8)
    ap.add_argument("--msaa", default="true", choices=["true", "false"])
    ap.add_argument("--ycb", default=str(REPO.parent / "shared" / "ycb"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scene", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.workers = a.workers[0] if isinstance(a.workers, list) else a.workers
        one(a)
        return
    print(f"machine: {machine()}")
    rows = []
    for scene in a.scenes:
        if scene == "ycb_video" and not (Path(a.ycb) / "models").is_dir():
            print(f"skipping ycb_video: no YCB models at {a.ycb} (pass --ycb)")
            continue
        base = {}
        for w in a.workers:
            small = run_child(scene, w, max(a.n // 4, 2 * w), a)
            big = run_child(scene, w, a.n, a)
            n_small = max(a.n // 4, 2 * w)
            steady = (a.n - n_small) / max(big["seconds"] - small["seconds"], 1e-9)
            total = a.n / big["seconds"]
            base.setdefault(scene, steady)
            rows.append((scene, w, steady, total, steady / base[scene], big["rss_self_mb"], big["rss_worker_mb"]))
            print(f"  {scene} workers={w}: steady {steady:.2f} img/s, total {total:.2f} img/s", flush=True)
    print(f"\n{a.width}x{a.height}, msaa={a.msaa}, N={a.n}, load after: {os.getloadavg()}\n")
    print("| scene | workers | steady img/s | total img/s (incl. start-up) | speed-up | peak RSS main MB | "
          "peak RSS worker MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f}x | {r[5]:.0f} | "
              f"{r[6]:.0f} |")


if __name__ == "__main__":
    main()
