"""Render a whole dataset: plan shards, run them (resumable), merge into one COCO set.

A shard is finished when ``.simgen/shards/shard_<k>.json`` exists (written atomically after all its images).
A killed run started again with the same config skips finished shards; the merge is deterministic, so the result
is byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from simgen import __version__
from simgen.config import RenderAppConfig
from simgen.errors import ConfigError, OutputError
from simgen.writers import atomic
from simgen.writers.coco import (OUTPUT_NAMES, SHARDS_DIR, STATE_DIR, annotation_entry, assemble, categories_entry,
                                 image_entry, image_file_name, read_shard)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    id: int
    indices: tuple[int, ...]


def plan_shards(n_images: int, shard_size: int) -> list[Shard]:
    return [Shard(k, tuple(range(s, min(s + shard_size, n_images))))
            for k, s in enumerate(range(0, n_images, shard_size))]


def shard_path(out: Path, shard_id: int) -> Path:
    return out / SHARDS_DIR / f"shard_{shard_id:05d}.json"


# ---------------------------------------------------------------------- config checks and fingerprint

def validate_job(cfg: RenderAppConfig) -> None:
    if cfg.n_images <= 0:
        raise ConfigError(f"n_images must be >= 1, got {cfg.n_images}; set n_images=<count>")
    if cfg.workers <= 0:
        raise ConfigError(f"workers must be >= 1, got {cfg.workers}; set workers=<number of processes>")
    if cfg.shard_size <= 0:
        raise ConfigError(f"shard_size must be >= 1, got {cfg.shard_size}; set shard_size=<samples per shard>")
    for name in ("width", "height"):
        v = getattr(cfg.render, name)
        if v is not None and v <= 0:
            raise ConfigError(f"render.{name} must be > 0, got {v}; set render.{name}=<pixels> or leave it unset for the camera's")
    if cfg.labels.segmentation not in ("polygon", "rle"):
        raise ConfigError(f"labels.segmentation must be polygon or rle, got {cfg.labels.segmentation!r}; set labels.segmentation=polygon or rle")
    if not 0.0 <= cfg.labels.min_visibility <= 1.0:
        raise ConfigError(f"labels.min_visibility must be in [0, 1], got {cfg.labels.min_visibility}; e.g. labels.min_visibility=0.1")
    if not 0 <= cfg.export.png_compression <= 9:
        raise ConfigError(f"export.png_compression must be 0..9, got {cfg.export.png_compression}; e.g. export.png_compression=1")
    if cfg.export.png_strategy not in atomic.PNG_STRATEGIES:
        raise ConfigError(f"export.png_strategy must be one of {', '.join(atomic.PNG_STRATEGIES)}, got "
                          f"{cfg.export.png_strategy!r}; e.g. export.png_strategy=rle")
    if cfg.export.png_filter not in atomic.PNG_FILTERS:
        raise ConfigError(f"export.png_filter must be one of {', '.join(atomic.PNG_FILTERS)}, got "
                          f"{cfg.export.png_filter!r}; e.g. export.png_filter=avg")
    from simgen.render.gl import PLATFORMS

    if cfg.render.platform not in PLATFORMS:
        raise ConfigError(f"unknown render.platform {cfg.render.platform!r}; use one of {', '.join(PLATFORMS)}")
    if cfg.render.max_texture_size < 16:
        raise ConfigError(f"render.max_texture_size must be >= 16, got {cfg.render.max_texture_size}; e.g. render.max_texture_size=1024")
    if cfg.export.format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export.format {cfg.export.format!r}; use one of {', '.join(EXPORT_FORMATS)} "
                          f"(COCO is always written; yolo adds a yolo/ folder in the ultralytics layout)")
    from simgen.launch import EXECUTORS

    if cfg.executor.name not in EXECUTORS:
        raise ConfigError(f"unknown executor {cfg.executor.name!r}; use executor=local or executor=ray")
    if cfg.executor.name == "ray":
        from simgen.launch.ray_executor import import_ray

        import_ray()
        if cfg.executor.write_on not in ("driver", "worker"):
            raise ConfigError(f"executor.write_on must be driver or worker, got {cfg.executor.write_on!r}")


# keys that do not change the dataset's bytes
_RUNTIME_KEYS = ("output_dir", "workers", "overwrite", "executor")
EXPORT_FORMATS = ("coco", "yolo")
# written by the run besides writers.coco.OUTPUT_NAMES (removed by overwrite=true)
_EXTRA_OUTPUT_NAMES = ("yolo",)


def output_config(cfg: RenderAppConfig) -> dict:
    d = dataclasses.asdict(cfg)
    for k in _RUNTIME_KEYS:
        d.pop(k, None)
    d.pop("executor", None)
    d["export"].pop("async_write", None)  # how files are written, not what is written
    return d


def fingerprint(cfg: RenderAppConfig, scene_dict: dict) -> str:
    blob = json.dumps({"config": output_config(cfg), "scene": scene_dict, "version": __version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("simgen", "numpy", "pybullet", "pyrender", "trimesh", "opencv-python-headless", "pycocotools",
                "hydra-core", "PyOpenGL"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------------- output folder

def prepare_output(out: Path, fp: str, overwrite: bool) -> Optional[int]:
    """Create/claim ``out``. Finished dataset -> error unless overwrite; unfinished run with the same fingerprint
    -> resume; with another fingerprint -> error unless overwrite.

    Returns the file descriptor of the run's lock (``.simgen/lock``, an exclusive ``flock`` that the kernel
    drops when the process dies, even by ``kill -9``); close it when the run ends. None where locking is
    unsupported. A second run on the same folder while one is alive fails instead of racing it."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output_dir {out} is a file; choose a folder path for output_dir")
    state = out / STATE_DIR / "run.json"
    lock_fd = _lock_output(out) if out.is_dir() else None
    try:
        if out.is_dir():
            finished = (out / "manifest.json").is_file()
            if finished and not overwrite:
                raise OutputError(f"output_dir {out} already holds a finished dataset; pass overwrite=true to "
                                  f"replace it or choose another output_dir")
            if not finished and state.is_file() and not overwrite:
                try:
                    prev = json.loads(state.read_text()).get("fingerprint")
                except (OSError, ValueError):
                    prev = None
                if prev != fp:
                    raise OutputError(f"output_dir {out} holds an unfinished run with a different config; pass "
                                      f"overwrite=true to discard it, or rerun with the same config to resume")
            if overwrite:
                # manifest first (dataset no longer finished), then the run state with the shard markers, then
                # the data: a kill -9 in between never leaves a shard marker whose images are gone
                names = ["manifest.json", STATE_DIR] + [n for n in OUTPUT_NAMES + _EXTRA_OUTPUT_NAMES
                                                        if n not in ("manifest.json", STATE_DIR)]
                for name in names:
                    p = out / name
                    if name == STATE_DIR and p.is_dir():  # keep the lock we hold
                        for q in p.iterdir():
                            if q.name == _LOCK_NAME:
                                continue
                            shutil.rmtree(q) if q.is_dir() and not q.is_symlink() else q.unlink()
                    elif p.is_dir():
                        shutil.rmtree(p)
                    elif p.exists():
                        p.unlink()
        _remove_stale_temp_files(out)
        try:
            (out / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
            (out / "images").mkdir(exist_ok=True)
            probe = out / STATE_DIR / f".probe{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"output_dir {out} is not writable ({exc.strerror}); choose a writable output_dir"
                              ) from None
        if lock_fd is None:
            lock_fd = _lock_output(out)
        if not state.is_file():
            atomic.write_json(state, {"fingerprint": fp})
    except BaseException:
        _unlock(lock_fd)
        raise
    return lock_fd


_LOCK_NAME = "lock"


def _lock_output(out: Path) -> Optional[int]:
    """Take ``out/.simgen/lock`` (exclusive, non-blocking flock); OutputError if a live run holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
        fd = os.open(out / STATE_DIR / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None  # not writable: prepare_output reports it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            other = ""
        os.close(fd)
        raise OutputError(f"output_dir {out} is being written by another running simgen "
                          f"({'pid ' + other if other else 'another process'}); wait for it to finish, stop it, "
                          f"or choose another output_dir") from None
    except OSError:  # filesystem without flock (some network filesystems): run unlocked
        os.close(fd)
        log.debug("no flock on %s; running without a lock", out)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass
    return fd


def _unlock(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)  # releases the flock
        except OSError:
            pass


def finished_shards(out: Path, shards: list[Shard]) -> set[int]:
    """Ids of the shards whose marker is readable and whose files all exist; a marker that fails the check
    (e.g. its images were deleted) is removed so the shard is rendered again."""
    done: set[int] = set()
    for s in shards:
        p = shard_path(out, s.id)
        if not p.is_file():
            continue
        try:
            d = read_shard(p)
            images = d["images"]
            ok = [e["sample_index"] for e in images] == list(s.indices) and all(
                (out / f).is_file() for e in images
                for f in ["images/" + e["file_name"], e.get("depth_file"), e.get("instances_file")] if f)
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if ok:
            done.add(s.id)
        else:
            log.warning("shard %d: marker or files incomplete; rendering it again", s.id)
            try:
                p.unlink()
            except OSError:
                pass
    return done


def _remove_stale_temp_files(out: Path) -> None:
    """Temp files of writes that a killed run left behind (``.<name>.tmp<pid>``); never a finished file."""
    if not out.is_dir():
        return
    for d in (out, out / "images", out / "depth", out / "instances", out / STATE_DIR, out / SHARDS_DIR,
              *[p for p in (out / "yolo").glob("**/") if p.is_dir()]):
        if d.is_dir():
            for p in d.glob(".*.tmp*"):
                try:
                    p.unlink()
                except OSError:
                    pass


# ---------------------------------------------------------------------- shards

def write_sample(out: Path, sample, categories: list[str], cfg: RenderAppConfig) -> tuple[dict, list[dict]]:
    """Write one sample's files; return its COCO image entry and annotations (without ids)."""
    ex = cfg.export
    iid = sample.image_id
    name = image_file_name(iid)
    atomic.write_png(out / "images" / name, sample.rgb, ex.png_compression, ex.png_strategy, ex.png_filter)
    extra = {}
    if ex.depth:
        (out / "depth").mkdir(exist_ok=True)
        mm = np.clip(np.round(sample.depth * 1000.0), 0, 65535).astype(np.uint16)
        atomic.write_png(out / "depth" / name, mm, ex.png_compression, ex.png_strategy, ex.png_filter)
        extra["depth_file"] = f"depth/{name}"
    if ex.instance_maps:
        (out / "instances").mkdir(exist_ok=True)
        atomic.write_png(out / "instances" / name, sample.instance_ids.astype(np.uint16), ex.png_compression, ex.png_strategy, ex.png_filter)
        extra["instances_file"] = f"instances/{name}"
    cam = sample.scene.camera
    img = image_entry(iid, cam.width, cam.height, cam.K, cam.T_world_cam, sample.index, extra)
    cat_ids = {n: k + 1 for k, n in enumerate(categories)}
    anns = [annotation_entry(inst, iid, cat_ids[inst.category], cam.height, cam.width, cfg.labels.segmentation)
            for inst in sample.instances]
    for inst, cat in sample.extra_instances:
        anns.append(annotation_entry(inst, iid, cat_ids[cat], cam.height, cam.width, cfg.labels.segmentation))
    return img, anns


def run_shard(gen, shard: Shard, out: Path, on_sample: Optional[Callable[[int], None]] = None) -> dict:
    """Render and write every sample of a shard, then mark it finished. Returns counts.

    With ``export.async_write`` (default) one writer thread encodes and writes sample i (PNG encoding and contour
    tracing release the GIL) while the caller renders sample i + 1; at most two samples wait, so memory stays
    bounded. The files and entries are the same either way, and the shard is marked finished only after all its
    files are written; a writer error is raised here, in the caller.
    """
    images, anns = [], []
    cfg = gen.cfg

    def done(result) -> None:
        img, a = result
        images.append(img)
        anns.extend(a)
        if on_sample is not None:
            on_sample(1)

    if getattr(cfg.export, "async_write", False) and len(shard.indices) > 1:
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        pending: deque = deque()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="simgen-writer") as pool:
            try:
                for i in shard.indices:
                    sample = gen.generate(i)
                    while len(pending) >= 2:
                        done(pending.popleft().result())
                    pending.append(pool.submit(write_sample, out, sample, gen.categories, cfg))
                while pending:
                    done(pending.popleft().result())
            finally:
                for f in pending:
                    f.cancel()
    else:
        for i in shard.indices:
            done(write_sample(out, gen.generate(i), gen.categories, cfg))
    gl = dict(getattr(getattr(gen, "renderer", None), "gl_info", None) or {})
    atomic.write_json(shard_path(out, shard.id), {"shard": shard.id, "images": images, "annotations": anns,
                                                  "gl": gl})
    return {"shard": shard.id, "images": len(images), "annotations": len(anns)}


# ---------------------------------------------------------------------- merge

def merge(out: Path, shards: list[Shard], categories: list[str], manifest: dict, preview_n: int = 9,
          preview: bool = True, export_format: str = "coco") -> dict:
    images, anns = [], []
    for s in shards:
        d = read_shard(shard_path(out, s.id))
        images.extend(d["images"])
        anns.extend(d["annotations"])
    info = {"description": f"simgen synthetic dataset, scene {manifest['scene']['name']}",
            "version": __version__, "contributor": "simgen", "url": "", "year": 2026,
            "seed": manifest["config"]["seed"]}
    coco = assemble(images, anns, categories_entry(categories), info)
    atomic.write_json(out / "annotations.json", coco)
    counts = {"images": len(coco["images"]), "annotations": len(coco["annotations"]),
              "per_category": {c["name"]: sum(1 for a in coco["annotations"] if a["category_id"] == c["id"])
                               for c in coco["categories"]},
              "images_without_objects": len({e["id"] for e in coco["images"]} -
                                            {a["image_id"] for a in coco["annotations"]})}
    manifest = {**manifest, "counts": counts}
    if preview:
        from simgen.writers.preview import contact_sheet

        sheet = contact_sheet(out, coco, n=preview_n)
        atomic.write_png(out / "preview.png", sheet, 3)
    if export_format == "yolo":
        from simgen.writers.yolo import write_yolo

        write_yolo(coco, out, out / "yolo", link="hardlink")
    atomic.write_json(out / "manifest.json", manifest, indent=2)  # last: marks the dataset finished
    return counts


# ---------------------------------------------------------------------- the job

def render_dataset(cfg: RenderAppConfig, executor: Optional[str] = None) -> dict:
    """Render ``cfg.n_images`` samples into ``cfg.output_dir`` (resumable). Returns the manifest counts + timing."""
    from simgen.pipeline import output_size, resolve_assets_root, resolve_scene

    validate_job(cfg)
    spec = resolve_scene(cfg)
    from simgen.scene.catalog import check_assets

    check_assets(spec, resolve_assets_root(cfg))  # fail before writing anything
    from simgen.render.gl import probe

    probe(cfg.render.platform)
    from simgen.randomize.pipeline import Randomizer

    categories = spec.categories + Randomizer.from_config(cfg.randomization, spec).extra_categories()
    scene_dict = dataclasses.asdict(spec)
    fp = fingerprint(cfg, scene_dict)
    out = Path(cfg.output_dir).expanduser()
    lock_fd = prepare_output(out, fp, cfg.overwrite)
    try:
        return _render_claimed(cfg, spec, categories, scene_dict, fp, out, executor)
    finally:
        _unlock(lock_fd)


def _render_claimed(cfg: RenderAppConfig, spec, categories: list[str], scene_dict: dict, fp: str, out: Path,
                    executor: Optional[str]) -> dict:
    from simgen.pipeline import output_size

    shards = plan_shards(cfg.n_images, cfg.shard_size)
    done = finished_shards(out, shards)
    todo = [s for s in shards if s.id not in done]
    if len(todo) < len(shards):
        log.info("resuming: %d of %d shards already finished", len(shards) - len(todo), len(shards))
    w, h = output_size(cfg, spec)
    log.info("rendering %d images (%dx%d) of scene %s with %d worker(s) into %s", cfg.n_images, w, h, spec.name,
             cfg.workers, out)
    t0 = time.perf_counter()
    from simgen.launch import run_shards

    gl_info = run_shards(cfg, spec, todo, out, sum(len(s.indices) for s in todo), executor=executor)
    elapsed = time.perf_counter() - t0
    n_done = sum(len(s.indices) for s in todo)
    # the GL info of the worker that rendered shard 0 (kept in its marker): the same on a resumed run
    try:
        gl_info = read_shard(shard_path(out, shards[0].id)).get("gl") or gl_info
    except (OSError, ValueError):
        pass
    manifest = {"simgen_version": __version__, "fingerprint": fp, "seed": cfg.seed, "scene": scene_dict,
                "config": output_config(cfg), "categories": categories, "width": w, "height": h,
                "versions": package_versions(), "gl": gl_info or {}}
    counts = merge(out, shards, categories, manifest, cfg.export.preview_n, cfg.export.preview,
                   cfg.export.format)
    rate = n_done / elapsed if elapsed > 0 else float("nan")
    log.info("wrote %d images, %d annotations to %s (%.2f img/s over %d rendered this run)", counts["images"],
             counts["annotations"], out, rate, n_done)
    atomic.write_json(out / STATE_DIR / "timing.json", {"rendered": n_done, "seconds": round(elapsed, 3),
                                                         "images_per_second": round(rate, 3),
                                                         "workers": cfg.workers})
    return {**counts, "seconds": elapsed, "images_per_second": rate, "output_dir": str(out)}
