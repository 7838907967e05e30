"""Local executor: shards in this process (workers=1) or in a pool of spawned processes (workers=N), each
process with its own GL context and pybullet client, built once and reused for all its shards."""

from __future__ import annotations

import logging
import multiprocessing as mp
from pathlib import Path

from simgen.config import RenderAppConfig
from simgen.launch.progress import Progress
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)

_GEN = None  # the worker's Generator


def _init_worker(cfg: RenderAppConfig, spec: SceneSpec, log_level: int) -> None:
    global _GEN
    import atexit
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool
    # Mesa llvmpipe starts one raster thread per core in every process; with N workers on C cores give each
    # worker C // N threads so they don't oversubscribe (a user's LP_NUM_THREADS wins)
    import os

    os.environ.setdefault("LP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, cfg.workers))))
    logging.basicConfig(level=log_level, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    from simgen.pipeline import Generator

    _GEN = Generator(cfg, spec).__enter__()
    atexit.register(_GEN.__exit__, None, None, None)


def _work(args) -> dict:
    shard, out = args
    from simgen.dataset import run_shard

    res = run_shard(_GEN, shard, Path(out))
    res["gl"] = _GEN.renderer.gl_info
    return res


def run_local(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int) -> dict:
    from simgen.dataset import run_shard
    from simgen.pipeline import Generator

    gl: dict = {}
    if not shards:
        return gl
    with Progress(n_samples) as prog:
        if cfg.workers == 1 or len(shards) == 1:
            with Generator(cfg, spec) as gen:
                gl = gen.renderer.gl_info
                for s in shards:
                    run_shard(gen, s, out, on_sample=prog.update)
            return gl
        ctx = mp.get_context("spawn")
        n = min(cfg.workers, len(shards))
        pool = ctx.Pool(n, initializer=_init_worker, initargs=(cfg, spec, logging.getLogger().level))
        try:
            for res in pool.imap_unordered(_work, [(s, str(out)) for s in shards]):
                gl = res.pop("gl", gl)
                prog.update(res["images"])
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    return gl
