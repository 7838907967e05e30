"""Local executor: shards in this process (workers=1) or in a pool of spawned processes (workers=N), each
process with its own GL context and pybullet client, built once and reused for all its shards.

Progress is counted per sample across all workers: each worker pushes ``(shard id, 1)`` through a queue after
every sample, and the parent settles each shard's count when the shard's result arrives (so the bar is exact
whatever the message timing). Workers die with the parent (Linux ``PR_SET_PDEATHSIG``; elsewhere they notice
at the next sample), so a parent killed with ``kill -9`` leaves no orphan writing into the dataset.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import sys
from pathlib import Path

from simgen.config import RenderAppConfig
from simgen.launch.progress import Progress
from simgen.run.shard import run_shard
from simgen.run.worker import Generator, apply_worker_env
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)

_GEN = None  # the worker's Generator
_QUEUE = None  # the worker's progress queue (to the parent)
_PARENT = None  # the parent's pid


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def available_cores() -> int:
    """CPU cores this process may run on: its affinity mask (taskset, cgroup cpusets) where the OS has one, else
    ``os.cpu_count()``. Thread pools sized from ``os.cpu_count()`` oversubscribe a process pinned to fewer cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _init_worker(cfg: RenderAppConfig, spec: SceneSpec, log_level: int, progress_queue=None,
                 parent_pid: int | None = None) -> None:
    global _GEN, _QUEUE, _PARENT
    import atexit

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool
    if parent_pid is not None:
        _PARENT = parent_pid
        die_with_parent(parent_pid)
    _QUEUE = progress_queue

    # with N workers on C cores each worker's renderer gets C // N threads (no oversubscription)
    apply_worker_env(cfg, max(1, available_cores() // max(1, cfg.workers)))
    logging.basicConfig(level=log_level, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")

    _GEN = Generator(cfg, spec).__enter__()
    atexit.register(_GEN.__exit__, None, None, None)


def _work(args) -> dict:
    shard, out = args

    def on_sample(n: int) -> None:
        if _PARENT is not None and os.getppid() != _PARENT:  # orphaned (no PDEATHSIG on this OS): stop
            os._exit(1)
        if _QUEUE is not None:
            _QUEUE.put((shard.id, n))

    res = run_shard(_GEN, shard, Path(out), on_sample=on_sample)
    res["gl"] = _GEN.renderer.info
    return res


class ShardProgress:
    """Per-sample progress from per-shard messages that may arrive before or after the shard's result."""

    def __init__(self, prog: Progress) -> None:
        self.prog = prog
        self.counted: dict[int, int] = {}
        self.closed: set[int] = set()

    def sample(self, shard_id: int, n: int) -> None:
        if shard_id in self.closed:
            return
        self.counted[shard_id] = self.counted.get(shard_id, 0) + n
        self.prog.update(n)

    def shard_done(self, shard_id: int, n_images: int) -> None:
        missing = n_images - self.counted.pop(shard_id, 0)
        self.closed.add(shard_id)
        if missing > 0:
            self.prog.update(missing)


def _drain(q, sp: ShardProgress) -> None:
    while True:
        try:
            shard_id, n = q.get_nowait()
        except (queue_mod.Empty, EOFError, OSError):
            return
        sp.sample(shard_id, n)


@contextlib.contextmanager
def standard_start_method():
    """Spawned children re-apply the parent's *global* start method; inside a joblib/loky worker (Hydra's joblib
    launcher) that is ``loky``, which a plain child cannot resolve (it dies, the pool respawns it forever). Use
    ``spawn`` as the global method while the pool starts its workers, then put the previous one back."""
    cur = mp.get_start_method(allow_none=True)
    if cur in (None, "spawn", "fork", "forkserver"):
        yield
        return
    mp.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        try:
            mp.set_start_method(cur, force=True)
        except ValueError:
            pass


def run_local(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int) -> dict:

    gl: dict = {}
    if not shards:
        return gl
    with Progress(n_samples) as prog:
        if cfg.workers == 1 or len(shards) == 1:
            with Generator(cfg, spec) as gen:
                gl = gen.renderer.info
                for s in shards:
                    run_shard(gen, s, out, on_sample=prog.update)
            return gl
        ctx = mp.get_context("spawn")
        n = min(cfg.workers, len(shards))
        sp = ShardProgress(prog)
        with standard_start_method():
            q = ctx.Queue()
            pool = ctx.Pool(n, initializer=_init_worker,
                            initargs=(cfg, spec, logging.getLogger().level, q, os.getpid()))
        try:
            it = pool.imap_unordered(_work, [(s, str(out)) for s in shards])
            remaining = len(shards)
            while remaining:
                try:
                    res = it.next(timeout=0.25)
                except mp.TimeoutError:
                    _drain(q, sp)
                    continue
                remaining -= 1
                gl = res.pop("gl", gl)
                _drain(q, sp)
                sp.shard_done(res["shard"], res["images"])
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
            q.close()
            q.cancel_join_thread()
    return gl
