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
import sys
import time
from pathlib import Path
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.errors import ConfigError
from simgen.export import atomic, format_names
from simgen.export.coco import STATE_DIR, read_shard
from simgen.launch import executor as executor_for
from simgen.launch import run_shards
from simgen.launch.ray import import_ray
from simgen.physics import simulator_class
from simgen.randomize.pipeline import Randomizer
from simgen.render import renderer_class
from simgen.run.merge import merge
from simgen.run.output import _unlock, prepare_output
from simgen.run.shard import finished_shards, plan_shards, shard_path
from simgen.run.worker import output_size, resolve_assets_root, resolve_scene
from simgen.scene.catalog import check_assets
from simgen.version import __version__

log = logging.getLogger(__name__)


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
    backend = renderer_class(cfg.render.backend)
    backend.check_config(cfg.render)
    simulator_class(cfg.physics.backend)
    if cfg.render.max_texture_size < 16:
        raise ConfigError(f"render.max_texture_size must be >= 16, got {cfg.render.max_texture_size}; e.g. render.max_texture_size=1024")
    if cfg.export.format not in format_names():
        raise ConfigError(f"unknown export.format {cfg.export.format!r}; use one of {', '.join(format_names())} "
                          f"(COCO is always written; yolo adds a yolo/ folder in the ultralytics layout)")
    executor_for(cfg.executor.name)
    if cfg.executor.name == "ray":
        import_ray()
        if cfg.executor.write_on not in ("driver", "worker"):
            raise ConfigError(f"executor.write_on must be driver or worker, got {cfg.executor.write_on!r}")


def check_render_limits(cfg: RenderAppConfig, spec) -> None:
    """Start the renderer's platform once (RenderError with the fix if it cannot) and check the image size
    against its limits."""
    rc = cfg.render
    limits = renderer_class(rc.backend).probe(rc) or {}
    w, h = output_size(cfg, spec)
    biggest = limits.get("max_size")
    if biggest and max(w, h) > biggest:
        raise ConfigError(f"image size {w}x{h} exceeds the renderer's limit of {biggest} pixels per side; set "
                          f"render.width / render.height to at most {biggest}")


# keys that do not change the dataset's bytes
_RUNTIME_KEYS = ("output_dir", "workers", "overwrite", "executor")


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


# ---------------------------------------------------------------------- the job

def render_dataset(cfg: RenderAppConfig, executor: Optional[str] = None) -> dict:
    """Render ``cfg.n_images`` samples into ``cfg.output_dir`` (resumable). Returns the manifest counts + timing."""
    validate_job(cfg)
    spec = resolve_scene(cfg)
    check_assets(spec, resolve_assets_root(cfg))  # fail before writing anything
    check_render_limits(cfg, spec)

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
    shards = plan_shards(cfg.n_images, cfg.shard_size)
    done = finished_shards(out, shards)
    todo = [s for s in shards if s.id not in done]
    if len(todo) < len(shards):
        log.info("resuming: %d of %d shards already finished", len(shards) - len(todo), len(shards))
    w, h = output_size(cfg, spec)
    log.info("rendering %d images (%dx%d) of scene %s with %d worker(s) into %s", cfg.n_images, w, h, spec.name,
             cfg.workers, out)
    t0 = time.perf_counter()


    gl_info = run_shards(cfg, spec, todo, out, sum(len(s.indices) for s in todo), executor_name=executor)
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
    counts = merge(out, shards, categories, manifest, cfg.export)
    rate = n_done / elapsed if elapsed > 0 else float("nan")
    log.info("wrote %d images, %d annotations to %s (%.2f img/s over %d rendered this run)", counts["images"],
             counts["annotations"], out, rate, n_done)
    atomic.write_json(out / STATE_DIR / "timing.json", {"rendered": n_done, "seconds": round(elapsed, 3),
                                                         "images_per_second": round(rate, 3),
                                                         "workers": cfg.workers})
    return {**counts, "seconds": elapsed, "images_per_second": rate, "output_dir": str(out)}
