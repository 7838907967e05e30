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
from simgen.core.checks import validate_fields
from simgen.errors import ConfigError
from simgen.export import atomic
from simgen.export.coco import STATE_DIR, read_shard
from simgen.launch import executor as executor_for
from simgen.launch import run_shards
from simgen.launch.ray import import_ray
from simgen.physics import simulator_class
from simgen.randomize.pipeline import Randomizer
from simgen.renderers import renderer_class
from simgen.run.merge import merge
from simgen.run.output import PlannedFiles, claim_output, owned_files, resolve_output_dir, swap_in
from simgen.run.shard import finished_shards, plan_shards, shard_path
from simgen.run.worker import output_size, resolve_assets_root, resolve_scene
from simgen.scene.catalog import check_assets
from simgen.version import __version__

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- config checks and fingerprint

def validate_job(cfg: RenderAppConfig) -> None:
    """Every value of the job, checked before anything is touched: the rules in the config's field metadata
    (ranges, choices, NaN/inf anywhere), then the registries (backend, simulator, executor). ConfigError naming the
    key and the fix."""
    validate_fields(cfg, "")
    backend = renderer_class(cfg.render.backend)
    backend.check_config(cfg.render)
    simulator_class(cfg.physics.backend)
    executor_for(cfg.executor.name)
    if cfg.executor.name == "ray":
        import_ray()


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
_RUNTIME_KEYS = ("output_dir", "workers", "overwrite", "allow_existing_files", "executor")


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
    out = resolve_output_dir(cfg.output_dir, cfg.scene)
    claim = claim_output(out, fp, cfg.overwrite, cfg.allow_existing_files, planned_files(cfg))
    try:
        result = _render_claimed(cfg, spec, categories, scene_dict, fp, claim.work, executor)
        if claim.staged:  # the finished dataset being replaced goes only now, and only its own files
            swap_in(claim, owned_files(claim.work))
            result["output_dir"] = str(out)
            log.info("replaced the finished dataset in %s (%d of its files)", out, len(claim.replaces))
        return result
    finally:
        claim.release()


def planned_files(cfg: RenderAppConfig) -> PlannedFiles:
    """What the job writes into its folder (for the collision check in a folder of other files)."""
    e = cfg.export
    dirs = ("images",) + (("depth",) if e.depth else ()) + (("instances",) if e.instance_maps else ())
    top = ("annotations.json", "manifest.json") + (("preview.png",) if e.preview else ()) + \
        ((e.format,) if e.format != "coco" else ())
    return PlannedFiles(cfg.n_images, dirs, top)


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
    log.info("wrote %d images, %d annotations to %s: %d rendered this run in %.1f s (%.2f img/s including "
             "start-up)", counts["images"], counts["annotations"], out, n_done, elapsed, rate)
    atomic.write_json(out / STATE_DIR / "timing.json", {"rendered": n_done, "seconds": round(elapsed, 3),
                                                         "images_per_second": round(rate, 3),
                                                         "workers": cfg.workers})
    return {**counts, "seconds": elapsed, "images_per_second": rate, "output_dir": str(out)}
