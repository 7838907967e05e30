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

Faults: a shard whose actor dies (process killed, node lost, out of memory) goes back to the queue and a new
actor is started, up to ``executor.max_retries`` times per shard; an error raised by the shard's own code (e.g. a
RenderError) ends the run with that error. A killed driver leaves finished shards (marker written last) and the
same command resumes, as with ``executor=local``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.errors import ConfigError, RenderError, SimgenError
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
        self.gen = None
        self.init_error: Optional[BaseException] = None
        try:
            self.gen = Generator(cfg, spec).__enter__()
        except Exception as exc:  # noqa: BLE001 - raised again from every call, as the task's own error
            # an exception in __init__ reaches the driver only as a message inside ActorDiedError; raised from a
            # method it arrives as itself (e.g. a RenderError with its one-line fix)
            self.init_error = exc

    def _check(self) -> None:
        if self.init_error is not None:
            raise self.init_error

    def gl_info(self) -> dict:
        """The renderer's info; also the driver's readiness probe (raises the actor's set-up error)."""
        self._check()
        return dict(self.gen.renderer.info)

    def run(self, shard, out: Optional[str], progress=None) -> dict:
        """Render ``shard``. ``out`` None: into a temp folder, returning the files as ``{relpath: bytes}``."""

        self._check()

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
        if self.gen is not None:
            self.gen.__exit__(None, None, None)


def write_shipped(out: Path, res: dict) -> None:
    """Write a shard's shipped files into ``out``: data files first, the shard marker last (atomic each)."""

    for rel, data in res.pop("files").items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(p, data)
    rel, data = res.pop("marker")
    atomic.write_bytes(out / rel, data)


def _first_line(text: object) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0][:200] if lines else "no message"


def _task_error(exc: BaseException) -> BaseException:
    """The exception a shard task raised in its actor (a SimgenError keeps its one-line message)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, SimgenError):
        return cause
    return RenderError(f"a Ray worker failed with {type(cause or exc).__name__}: {_first_line(cause or exc)}; "
                       "rerun with SIMGEN_DEBUG=1 and executor=local to see the traceback")


class _Pool:
    """The driver's view of the actors: starting (readiness probe pending), idle, busy (shard task pending).

    An actor that dies (its process killed, its node lost, out of memory) is replaced by a new one, and the shard
    it held goes back to the queue: a retried shard writes the same bytes, since every sample depends only on
    (seed, index). A replacement that Ray cannot place (e.g. its node is gone and the others are full) just
    waits; the live actors finish the work. Ray's own actor restarts and task retries are off: a restarted
    actor waiting for a lost node's resources would hold its shard forever.
    """

    def __init__(self, ray, make_actor, n: int, max_retries: int) -> None:
        self.ray, self.make_actor, self.max_retries = ray, make_actor, max_retries
        self.starting: dict = {}  # readiness ref -> actor
        self.busy: dict = {}  # task ref -> (actor, shard)
        self.idle: list = []
        self.all: list = []
        self.failures: dict[int, int] = {}  # shard id -> lost attempts
        self.actor_deaths = 0
        for _ in range(n):
            self.spawn()

    def spawn(self) -> None:
        a = self.make_actor()
        self.all.append(a)
        self.starting[a.gl_info.remote()] = a

    def replace(self, a) -> None:
        self.actor_deaths += 1
        try:
            self.ray.kill(a, no_restart=True)
        except Exception:  # noqa: BLE001 - already dead
            pass
        self.spawn()

    def refs(self) -> list:
        return list(self.starting) + list(self.busy)


def run_ray(cfg: RenderAppConfig, spec: SceneSpec, shards: list, out: Path, n_samples: int) -> dict:

    ray = import_ray()
    from ray.exceptions import RayError, RayTaskError

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
    pool: Optional[_Pool] = None
    progress_q = None
    try:
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        n = min(cfg.workers, len(shards))
        Actor = ray.remote(RenderWorker).options(num_cpus=ex.cpus_per_worker, num_gpus=ex.gpus_per_worker,
                                                 max_restarts=0, max_task_retries=0)
        threads = max(1, int(round(ex.cpus_per_worker)))
        level = logging.getLogger().level
        # the progress queue lives on the driver's node: losing another node must not lose it
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        progress_q = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})
        pool = _Pool(ray, lambda: Actor.remote(cfg, spec, threads, level), n, ex.max_retries)
        log.info("ray: %d actor(s) for %d shard(s) (%s writes the files)", n, len(shards), ex.write_on)
        target = str(out) if ex.write_on == "worker" else None
        todo = list(shards)
        t_wait = time.monotonic()
        with Progress(n_samples) as prog:
            sp = ShardProgress(prog)

            def drain() -> None:
                try:
                    items = progress_q.get_nowait_batch(progress_q.qsize())
                except Exception:  # noqa: BLE001 - progress is best effort
                    items = []
                for shard_id, k in items:
                    sp.sample(shard_id, k)

            while todo or pool.busy:
                while todo and pool.idle:
                    a, s = pool.idle.pop(), todo.pop(0)
                    pool.busy[a.run.remote(s, target, progress_q)] = (a, s)
                ready, _ = ray.wait(pool.refs(), num_returns=1, timeout=0.5)
                drain()
                if not ready and not pool.busy and time.monotonic() - t_wait > 60:
                    t_wait = time.monotonic()
                    log.warning("ray: waiting for the cluster to place a render actor (%d shard(s) left; "
                                "cluster resources %s)", len(todo), ray.available_resources())
                for ref in ready:
                    t_wait = time.monotonic()
                    if ref in pool.starting:
                        a = pool.starting.pop(ref)
                        try:
                            gl = ray.get(ref) or gl
                        except RayTaskError as exc:  # the actor's set-up failed (e.g. no GL platform)
                            raise _task_error(exc) from None
                        except RayError as exc:
                            log.warning("ray: a render actor died while starting (%s); starting another",
                                        _first_line(exc))
                            if pool.actor_deaths >= (ex.max_retries + 1) * max(n, len(shards)):
                                raise RenderError(f"Ray render actors keep dying ({pool.actor_deaths} so far; last: "
                                                  f"{_first_line(exc)}); check the nodes' memory and Ray logs, "
                                                  "then run the same command again to resume") from None
                            pool.replace(a)
                            continue
                        pool.idle.append(a)
                        continue
                    a, s = pool.busy.pop(ref)
                    try:
                        res = ray.get(ref)
                    except RayTaskError as exc:  # the shard itself failed: the same error on any retry
                        raise _task_error(exc) from None
                    except RayError as exc:  # the actor, its process or its node died: retry the shard
                        k = pool.failures[s.id] = pool.failures.get(s.id, 0) + 1
                        if k > ex.max_retries:
                            raise RenderError(f"shard {s.id} was lost {k} times on Ray ({_first_line(exc)}); "
                                              f"raise executor.max_retries (now {ex.max_retries}) or check the "
                                              "nodes, then run the same command again to resume") from None
                        log.warning("ray: shard %d lost with its actor (%s); retrying it (%d/%d)", s.id,
                                    _first_line(exc), k, ex.max_retries)
                        todo.insert(0, s)
                        pool.replace(a)
                        continue
                    if target is None:
                        write_shipped(out, res)
                    gl = res.pop("gl", gl) or gl
                    sp.shard_done(res["shard"], res["images"])
                    pool.idle.append(a)
        for a in pool.idle:
            try:
                ray.get(a.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - closing is best effort; the actor is killed below
                pass
    finally:
        for a in (pool.all if pool is not None else []):
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
        if progress_q is not None:
            try:
                ray.kill(progress_q.actor)
            except Exception:  # noqa: BLE001 - already dead
                pass
        if started:
            ray.shutdown()
    return gl
