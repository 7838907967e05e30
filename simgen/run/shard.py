"""Shards: the unit of parallel work and of resume.

A shard is finished when ``.simgen/shards/shard_<k>.json`` exists (written atomically after all its images). Any
sample can be re-made alone from its index, so shards can run in any order, on any worker, and again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from simgen.config import RenderAppConfig
from simgen.export import atomic
from simgen.export.coco import SHARDS_DIR, annotation_entry, image_entry, image_file_name, read_shard

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


def intent_path(out: Path, shard_id: int) -> Path:
    return out / SHARDS_DIR / f"intent_{shard_id:05d}.json"


def shard_files(shard: Shard, export_cfg) -> list[str]:
    """The files a shard writes (relative to the dataset folder), recorded before it writes them."""
    dirs = ["images"] + (["depth"] if export_cfg.depth else []) + (["instances"] if export_cfg.instance_maps else [])
    return [f"{d}/{image_file_name(i + 1)}" for i in shard.indices for d in dirs]


def run_shard(gen, shard: Shard, out: Path, on_sample: Optional[Callable[[int], None]] = None) -> dict:
    """Render and write every sample of a shard, then mark it finished. Returns counts.

    With ``export.async_write`` (default) one writer thread encodes and writes sample i (PNG encoding and contour
    tracing release the GIL) while the caller renders sample i + 1; at most two samples wait, so memory stays
    bounded. The files and entries are the same either way, and the shard is marked finished only after all its
    files are written; a writer error is raised here, in the caller.
    """
    images, anns = [], []
    cfg = gen.cfg
    atomic.write_json(intent_path(out, shard.id), {"files": shard_files(shard, cfg.export)})

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
