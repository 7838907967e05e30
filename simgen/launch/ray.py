"""Ray executor (``executor=ray``, extra ``simgen[ray]``): shards run as tasks of ``workers`` Ray actors.

Each actor builds one :class:`simgen.run.worker.Generator` (GL context, uploaded meshes and textures, pybullet
client) and keeps it warm for all the shards it is given; the driver hands a shard to whichever actor is idle.

Files: with ``executor.write_on=driver`` (default) an actor renders a shard into a node-local temp folder and
sends the encoded files back; the driver writes them into ``output_dir`` (images first, the shard marker last,
each atomically), so a cluster needs no shared filesystem. With ``write_on=worker`` actors write into
``output_dir`` themselves (same path on every node). Either way the merge and the bytes are those of
``executor=local``: every sample depends only on (seed, index), never on which process made it. (Bytes are
identical across machines only when they share the GL stack; the manifest records one worker's GL info.)

Progress: actors push ``(shard id, n)`` per sample into a ``ray.util.queue.Queue``; the driver settles each
shard's count when its result arrives (same as the local pool).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.errors import ConfigError
from simgen.export import atomic
from simgen.export.coco import SHARDS_DIR
from simgen.launch.local import ShardProgress
from simgen.launch.progress import Progress
from simgen.run.shard import run_shard, shard_path
from simgen.run.worker import Generator, apply_worker_env
from simgen.scene.spec import SceneSpec

log = logging.getLogger(__name__)


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("executor=ray needs Ray; install it with: pip install 'simgen[ray]' "
                          "(or use executor=local)") from None
    return ray


class RenderWorker:
    """A Ray actor body: one warm Generator, one shard per call."""

    def __init__(self, cfg: RenderAppConfig, spec: SceneSpec, threads: int, log_level: int) -> None:
        apply_worker_env(cfg, threads)
        logging.basicConfig(level=log_level, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")

        self.cfg = cfg
        self.gen = Generator(cfg, spec).__enter__()

    def gl_info(self) -> dict:
        return dict(self.gen.renderer.info)

    def run(self, shard, out: Optional[str], progress=None) -> dict:
        """Render ``shard``. ``out`` None: into a temp folder, returning the files as ``{relpath: bytes}``."""

        def on_sample(n: int) -> None:
            if progress is not None:
                try:
                    progress.put_nowait((shard.id, n))
                except Exception:  # progress is best effort
                    pass

        if out is not None:
            res = run_shard(self.gen, shard, Path(out), on_sample=on_sample)
            res["gl"] = self.gl_info()
            return res
        tmp = Path(tempfile.mkdtemp(prefix=f"simgen_shard{shard.id}_"))
        try:
            (tmp / SHARDS_DIR).mkdir(parents=True)
            (tmp / "images").mkdir()
            res = run_shard(self.gen, shard, tmp, on_sample=on_sample)
            marker = shard_path(tmp, shard.id)
            files = {}
            for p in sorted(tmp.rglob("*")):
                if p.is_file() and p != marker:
                    files[str(p.relative_to(tmp))] = p.read_bytes()
            res["files"] = files
            res["marker"] = (str(marker.relative_to(tmp)), marker.read_bytes())
            res["gl"] = self.gl_info()
            return res
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        self.gen.__exit__(None, None, None)


def write_shipped(out: Path, res: dict) -> None:
    """Write a shard's shipped files into ``out``: data files first, the shard marker last (atomic each)."""

    for rel, data in res.pop("files").items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(p, data)
    rel, data = res.pop("marker")
    atomic.write_bytes(out / rel, data)


def run_ray(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int) -> dict:

    ray = import_ray()
    ex = cfg.executor
    if ex.write_on not in ("driver", "worker"):
        raise ConfigError(f"executor.write_on must be driver or worker, got {ex.write_on!r}")
    gl: dict = {}
    if not shards:
        return gl
    started = False
    if not ray.is_initialized():
        kw = dict(include_dashboard=False, log_to_driver=True)
        if ex.address:
            kw["address"] = ex.address
        elif ex.num_cpus:
            kw["num_cpus"] = int(ex.num_cpus)
        log.info("ray: %s", f"joining {ex.address}" if ex.address else "starting a local instance")
        ray.init(**kw)
        started = True
    actors: list = []
    progress_q = None
    try:
        from ray.util.queue import Queue

        n = min(cfg.workers, len(shards))
        Actor = ray.remote(RenderWorker).options(num_cpus=ex.cpus_per_worker, num_gpus=ex.gpus_per_worker,
                                                 max_restarts=ex.max_retries, max_task_retries=ex.max_retries)
        threads = max(1, int(round(ex.cpus_per_worker)))
        actors = [Actor.remote(cfg, spec, threads, logging.getLogger().level) for _ in range(n)]
        progress_q = Queue(actor_options={"num_cpus": 0})
        log.info("ray: %d actor(s) for %d shard(s) (%s writes the files)", n, len(shards), ex.write_on)
        target = str(out) if ex.write_on == "worker" else None
        todo = list(shards)
        idle = list(actors)
        pending: dict = {}
        with Progress(n_samples) as prog:
            sp = ShardProgress(prog)

            def drain() -> None:
                try:
                    items = progress_q.get_nowait_batch(progress_q.qsize())
                except Exception:
                    items = []
                for shard_id, k in items:
                    sp.sample(shard_id, k)

            while todo or pending:
                while todo and idle:
                    a, s = idle.pop(), todo.pop(0)
                    pending[a.run.remote(s, target, progress_q)] = a
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                drain()
                for ref in ready:
                    a = pending.pop(ref)
                    res = ray.get(ref)
                    if target is None:
                        write_shipped(out, res)
                    gl = res.pop("gl", gl) or gl
                    sp.shard_done(res["shard"], res["images"])
                    idle.append(a)
        for a in actors:
            try:
                ray.get(a.close.remote(), timeout=30)
            except Exception:
                pass
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:
                pass
        if progress_q is not None:
            try:
                ray.kill(progress_q.actor)
            except Exception:
                pass
        if started:
            ray.shutdown()
    return gl
