"""Memory soak: render many labelled images in one worker and record RSS at intervals.

    python benchmarks/soak.py --n 10000                # scene=default, randomization=moderate, 640x480
    python benchmarks/soak.py --n 2000 --scene ycb_video --ycb ../shared/ycb

The config is composed as `simgen render scene=<s> randomization=<r>` composes it. Every sample goes through the
path a worker runs (``run_shard``: sample, physics, render, labels, effects, PNG + COCO entries written by the
writer thread), one shard of ``--every`` images at a time; written files are deleted after each shard so the
disk does not fill. Writes soak.csv and soak.png (RSS curve) into --out and prints the growth after warm-up
(target < 5%).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--scene", default="default")
    ap.add_argument("--randomization", default="moderate")
    ap.add_argument("--ycb", default=str(REPO.parent / "shared" / "ycb"))
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--out", default="soak_out")
    a = ap.parse_args()

    from simgen.run.shard import Shard, run_shard
    from simgen.run.worker import Generator

    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, [])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="simgen_soak_"))
    rows = []
    t0 = time.perf_counter()
    with Generator(cfg) as g:
        for k, start in enumerate(range(0, a.n, a.every)):
            for d in ("images", "depth", ".simgen/shards"):
                (tmp / d).mkdir(parents=True, exist_ok=True)
            run_shard(g, Shard(k, tuple(range(start, min(start + a.every, a.n)))), tmp)
            shutil.rmtree(tmp)
            tmp.mkdir()
            done = min(start + a.every, a.n)
            rows.append((done, round(time.perf_counter() - t0, 2), round(rss_mb(), 1)))
            print(f"{done:6d} images  {rows[-1][1]:8.1f} s  RSS {rows[-1][2]:.1f} MB", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    with open(out / "soak.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["images", "seconds", "rss_mb"])
        w.writerows(rows)
    after = [r for r in rows if r[0] >= a.warmup]
    if len(after) >= 2:
        growth = 100.0 * (after[-1][2] - after[0][2]) / after[0][2]
        peak = 100.0 * (max(r[2] for r in after) - after[0][2]) / after[0][2]
        print(f"RSS after warm-up ({after[0][0]} images): {after[0][2]:.1f} MB -> {after[-1][2]:.1f} MB at "
              f"{after[-1][0]} images: growth {growth:+.2f}% (peak {peak:+.2f}%), target < 5%")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot([r[0] for r in rows], [r[2] for r in rows], marker=".")
        ax.axvline(a.warmup, color="gray", ls="--", lw=0.8, label="warm-up")
        ax.set_xlabel("images rendered")
        ax.set_ylabel("RSS (MB)")
        ax.set_title(f"simgen soak: scene={a.scene} randomization={a.randomization} {a.width}x{a.height}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "soak.png", dpi=110)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
