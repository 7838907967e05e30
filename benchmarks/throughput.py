"""End-to-end throughput of `simgen render` (render + labels + PNG + COCO written) and peak RSS per worker.

    python benchmarks/throughput.py                                  # default + ycb_video, 1 and 2 workers
    python benchmarks/throughput.py --randomization off              # the spine: no domain randomization
    python benchmarks/throughput.py --scenes default --workers 2 --n 192 -- render.pyrender.msaa=false

The config is composed exactly as `simgen render scene=<s> randomization=<r> workers=<w> ...` composes it (Hydra),
so the numbers are those of the command line (CLI default: randomization=moderate). Extra Hydra overrides go
after ``--``. Each configuration runs twice in a fresh subprocess (N/4 and N images); the steady-state rate is
the marginal rate (N - N/4) / (t_N - t_N/4), which removes process start, mesh/texture loading, GL set-up and
the final merge. The total rate (N / t_N, start-up included) is printed too, and the CPU cores kept busy in the
steady state (CPU seconds of the process and its workers over wall seconds). Prints a markdown table, the machine
(CPU model, cores, GL renderer) and the 1-minute load average before and after every run (the machine is shared:
numbers measured at load >= 1 on 2 cores are not comparable with quiet ones).

``--ceiling`` adds what the machine gives any number of processes: one worker pinned to one core (llvmpipe with
one thread), and max(--workers) such renders run at once, independently, each pinned to its own core. Their
summed rate is the most that many processes can get here (no shared work, no merge): if ``workers=2`` is close
to it, the sub-linear speed-up is the machine's (shared caches, memory bandwidth, a busy host), not simgen's.

``--repo PATH`` benchmarks another checkout of simgen (e.g. a ``git worktree`` of an older commit) with the same
script, for before/after tables measured back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def compose(scene: str, randomization: str, ycb: str, width: int, height: int, extra: list[str]):
    """The typed config `simgen render scene=... randomization=... <extra>` builds (Hydra compose)."""
    from hydra import compose as hcompose, initialize_config_dir
    from omegaconf import OmegaConf

    from simgen.cli.configs import register_all as register_configs
    from simgen.paths import conf_dir

    register_configs()
    ov = [f"scene={scene}", f"randomization={randomization}", f"render.width={width}", f"render.height={height}"]
    if scene == "ycb_video":
        ov.append(f"assets.root={ycb}")
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = hcompose(config_name="render", overrides=ov + list(extra))
    return OmegaConf.to_object(cfg)


def scene_parser(doc: str, size: bool = True) -> argparse.ArgumentParser:
    """The arguments every in-process benchmark shares: --scene, --randomization, --ycb (and --width/--height)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", default="default")
    ap.add_argument("--randomization", default="moderate")
    ap.add_argument("--ycb", default=str(REPO.parent / "shared" / "ycb"))
    if size:
        ap.add_argument("--width", type=int, default=640)
        ap.add_argument("--height", type=int, default=480)
    return ap


def one(a: argparse.Namespace) -> None:
    """Child mode: render once, print JSON with seconds, peak RSS (self and workers) and the GL renderer."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from simgen.run.job import render_dataset

    extra = [f"n_images={a.n}", f"output_dir={a.out}", f"workers={a.workers}", f"shard_size={a.shard_size}",
             "overwrite=true"] + a.overrides
    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, extra)
    t0 = time.perf_counter()
    render_dataset(cfg)
    dt = time.perf_counter() - t0
    ru_self, ru_child = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    self_kb, child_kb = ru_self.ru_maxrss, ru_child.ru_maxrss
    cpu = ru_self.ru_utime + ru_self.ru_stime + ru_child.ru_utime + ru_child.ru_stime  # workers joined at the end
    gl = json.loads((Path(a.out) / "manifest.json").read_text()).get("gl", {})
    import simgen

    print(json.dumps({"seconds": dt, "cpu_seconds": cpu, "rss_self_mb": self_kb / 1024, "rss_worker_mb": child_kb / 1024,
                      "gl": gl.get("renderer", "?"), "simgen": str(Path(simgen.__file__).parent)}))


def machine() -> dict:
    info = {"python": platform.python_version(), "cores": os.cpu_count(), "load": os.getloadavg()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["mem_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError):
        pass
    return info


def start_child(scene: str, workers: int, n: int, a: argparse.Namespace, core: int | None = None):
    """Start one benchmark child (optionally pinned to CPU ``core``); :func:`finish_child` collects it."""
    out = tempfile.mkdtemp(prefix="simgen_bench_")
    cmd = [sys.executable, __file__, "--child", "--scene", scene, "--workers", str(workers), "--n", str(n),
           "--out", out, "--width", str(a.width), "--height", str(a.height), "--ycb", a.ycb,
           "--shard-size", str(a.shard_size), "--randomization", a.randomization, "--"] + a.overrides
    env = dict(os.environ)
    if a.repo:
        env["PYTHONPATH"] = str(Path(a.repo).resolve()) + os.pathsep + env.get("PYTHONPATH", "")
    if core is not None:  # llvmpipe sizes its thread pool by the cores it may use
        env["LP_NUM_THREADS"] = "1"
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=pin)
    return proc, out, os.getloadavg()[0]


def finish_child(started) -> dict:
    proc, out, load0 = started
    stdout, stderr = proc.communicate()
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{stderr[-3000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    res["load"] = (load0, os.getloadavg()[0])
    return res


def run_child(scene: str, workers: int, n: int, a: argparse.Namespace) -> dict:
    return finish_child(start_child(scene, workers, n, a))


def ceiling(scene: str, k: int, n_small: int, a: argparse.Namespace) -> tuple[float, list[float]]:
    """What k processes can get out of this machine at all: k independent one-worker renders at once, each pinned
    to its own core (no shared work, no merge). Returns (summed steady img/s, each process's steady img/s)."""
    cores = sorted(os.sched_getaffinity(0))[:k]
    small = [finish_child(s) for s in [start_child(scene, 1, n_small, a, c) for c in cores]]
    big = [finish_child(s) for s in [start_child(scene, 1, a.n, a, c) for c in cores]]
    rates = [(a.n - n_small) / max(b["seconds"] - s["seconds"], 1e-9) for s, b in zip(small, big)]
    return sum(rates), rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", nargs="+", default=["default", "ycb_video"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--shard-size", type=int, default=8)
    ap.add_argument("--randomization", default="moderate", help="off | moderate | strong (CLI default: moderate)")
    ap.add_argument("--ycb", default=str(REPO.parent / "shared" / "ycb"))
    ap.add_argument("--repo", default=None, help="benchmark the simgen package of this checkout instead")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--ceiling", action="store_true",
                    help="also run one worker pinned to one core, and max(--workers) independent one-worker "
                         "renders at once, each pinned to its own core: the most that many processes get from "
                         "this machine (compare with the workers=N row)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scene", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides after --, e.g. -- render.pyrender.msaa=false")
    a = ap.parse_args()
    if a.child:
        a.workers = a.workers[0] if isinstance(a.workers, list) else a.workers
        one(a)
        return
    print(f"machine: {machine()}", flush=True)
    rows = []
    gl = simgen_at = "?"
    for scene in a.scenes:
        if scene == "ycb_video" and not (Path(a.ycb) / "models").is_dir():
            print(f"skipping ycb_video: no YCB models at {a.ycb} (pass --ycb)")
            continue
        base = None
        for w in a.workers:
            n_small = max(a.n // 4, 2 * w * a.shard_size // 2)
            small = run_child(scene, w, n_small, a)
            big = run_child(scene, w, a.n, a)
            gl, simgen_at = big["gl"], big["simgen"]
            steady = (a.n - n_small) / max(big["seconds"] - small["seconds"], 1e-9)
            total = a.n / big["seconds"]
            # CPU cores kept busy in the steady state (render threads, writer thread and workers together)
            cores = (big["cpu_seconds"] - small["cpu_seconds"]) / max(big["seconds"] - small["seconds"], 1e-9)
            base = steady if base is None else base
            rss_worker = big["rss_self_mb"] if w == 1 else big["rss_worker_mb"]
            loads = (small["load"][0], big["load"][1])
            rows.append({"scene": scene, "workers": w, "steady": steady, "total": total, "speedup": steady / base,
                         "cores_busy": cores,
                         "rss_worker_mb": rss_worker, "rss_main_mb": big["rss_self_mb"], "load": loads})
            print(f"  {scene} workers={w}: steady {steady:.2f} img/s, total {total:.2f} img/s, {cores:.2f} cores, "
                  f"load {loads[0]:.2f} -> {loads[1]:.2f}", flush=True)
        k = max(a.workers)
        if a.ceiling and base is not None:
            n_small = max(a.n // 4, a.shard_size)
            avail = len(os.sched_getaffinity(0))
            runs = [("1, pinned to 1 core", 1)] + ([(f"{k} x 1, independent, pinned", k)] if 1 < k <= avail else [])
            for label, kk in runs:
                load0 = os.getloadavg()[0]
                total_rate, rates = ceiling(scene, kk, n_small, a)
                rows.append({"scene": scene, "workers": label, "steady": total_rate, "total": float("nan"),
                             "speedup": total_rate / base, "cores_busy": float("nan"), "rss_worker_mb": float("nan"),
                             "rss_main_mb": float("nan"), "load": (load0, os.getloadavg()[0]),
                             "per_process": rates})
                print(f"  {scene} {label}: {total_rate:.2f} img/s ({', '.join(f'{r:.2f}' for r in rates)})",
                      flush=True)
    print(f"\n{a.width}x{a.height}, randomization={a.randomization} {' '.join(a.overrides)}, N={a.n}, "
          f"GL: {gl}, simgen: {simgen_at}, load after: {os.getloadavg()}\n")
    print("| scene | workers | steady img/s | total img/s (incl. start-up) | speed-up | cores busy | "
          "peak RSS per worker MB | load before -> after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(v, spec):
            return "-" if v != v else format(v, spec)  # nan: not measured for this row

        print(f"| {r['scene']} | {r['workers']} | {r['steady']:.2f} | {f(r['total'], '.2f')} | {r['speedup']:.2f}x | "
              f"{f(r.get('cores_busy', float('nan')), '.2f')} | {f(r['rss_worker_mb'], '.0f')} | "
              f"{r['load'][0]:.2f} -> {r['load'][1]:.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"machine": machine(), "gl": gl, "args": vars(a), "rows": rows},
                                           indent=2))


if __name__ == "__main__":
    main()
