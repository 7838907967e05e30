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
    from simgen.render.gl import PLATFORMS

    if cfg.render.platform not in PLATFORMS:
        raise ConfigError(f"unknown render.platform {cfg.render.platform!r}; use one of {', '.join(PLATFORMS)}")
    if cfg.render.max_texture_size < 16:
        raise ConfigError(f"render.max_texture_size must be >= 16, got {cfg.render.max_texture_size}; e.g. render.max_texture_size=1024")


# keys that do not change the dataset's bytes
_RUNTIME_KEYS = ("output_dir", "workers", "overwrite")


def output_config(cfg: RenderAppConfig) -> dict:
    d = dataclasses.asdict(cfg)
    for k in _RUNTIME_KEYS:
        d.pop(k, None)
    d.pop("executor", None)
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

def prepare_output(out: Path, fp: str, overwrite: bool) -> None:
    """Create/claim ``out``. Finished dataset -> error unless overwrite; unfinished run with the same fingerprint
    -> resume; with another fingerprint -> error unless overwrite."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output_dir {out} is a file; choose a folder path for output_dir")
    state = out / STATE_DIR / "run.json"
    if out.is_dir():
        finished = (out / "manifest.json").is_file()
        if finished and not overwrite:
            raise OutputError(f"output_dir {out} already holds a finished dataset; pass overwrite=true to replace it "
                              f"or choose another output_dir")
        if not finished and state.is_file() and not overwrite:
            try:
                prev = json.loads(state.read_text()).get("fingerprint")
            except (OSError, ValueError):
                prev = None
            if prev != fp:
                raise OutputError(f"output_dir {out} holds an unfinished run with a different config; pass "
                                  f"overwrite=true to discard it, or rerun with the same config to resume")
        if overwrite:
            for name in OUTPUT_NAMES:
                p = out / name
                if p.is_dir():
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
    if not state.is_file():
        atomic.write_json(state, {"fingerprint": fp})


def _remove_stale_temp_files(out: Path) -> None:
    """Temp files of writes that a killed run left behind (``.<name>.tmp<pid>``); never a finished file."""
    if not out.is_dir():
        return
    for d in (out, out / "images", out / "depth", out / "instances", out / STATE_DIR, out / SHARDS_DIR):
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
    atomic.write_png(out / "images" / name, sample.rgb, ex.png_compression)
    extra = {}
    if ex.depth:
        (out / "depth").mkdir(exist_ok=True)
        mm = np.clip(np.round(sample.depth * 1000.0), 0, 65535).astype(np.uint16)
        atomic.write_png(out / "depth" / name, mm, ex.png_compression)
        extra["depth_file"] = f"depth/{name}"
    if ex.instance_maps:
        (out / "instances").mkdir(exist_ok=True)
        atomic.write_png(out / "instances" / name, sample.instance_ids.astype(np.uint16), ex.png_compression)
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
    """Render and write every sample of a shard, then mark it finished. Returns counts."""
    images, anns = [], []
    for i in shard.indices:
        sample = gen.generate(i)
        img, a = write_sample(out, sample, gen.categories, gen.cfg)
        images.append(img)
        anns.extend(a)
        if on_sample is not None:
            on_sample(1)
    atomic.write_json(shard_path(out, shard.id), {"shard": shard.id, "images": images, "annotations": anns})
    return {"shard": shard.id, "images": len(images), "annotations": len(anns)}


# ---------------------------------------------------------------------- merge

def merge(out: Path, shards: list[Shard], categories: list[str], manifest: dict, preview_n: int = 9,
          preview: bool = True) -> dict:
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
    prepare_output(out, fp, cfg.overwrite)
    shards = plan_shards(cfg.n_images, cfg.shard_size)
    todo = [s for s in shards if not shard_path(out, s.id).is_file()]
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
    manifest = {"simgen_version": __version__, "fingerprint": fp, "seed": cfg.seed, "scene": scene_dict,
                "config": output_config(cfg), "categories": categories, "width": w, "height": h,
                "versions": package_versions(), "gl": gl_info or {}}
    counts = merge(out, shards, categories, manifest, cfg.export.preview_n, cfg.export.preview)
    rate = n_done / elapsed if elapsed > 0 else float("nan")
    log.info("wrote %d images, %d annotations to %s (%.2f img/s over %d rendered this run)", counts["images"],
             counts["annotations"], out, rate, n_done)
    atomic.write_json(out / STATE_DIR / "timing.json", {"rendered": n_done, "seconds": round(elapsed, 3),
                                                         "images_per_second": round(rate, 3),
                                                         "workers": cfg.workers})
    return {**counts, "seconds": elapsed, "images_per_second": rate, "output_dir": str(out)}
