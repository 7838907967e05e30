"""Merge finished shards into the dataset: COCO, preview, other formats, and the manifest last."""

from __future__ import annotations

from pathlib import Path

from simgen.export import atomic, exporters_for
from simgen.export.coco import assemble, categories_entry, read_shard
from simgen.run.output import record_owned
from simgen.run.shard import Shard, shard_path
from simgen.version import __version__


def merge(out: Path, shards: list[Shard], categories: list[str], manifest: dict, export_cfg) -> dict:
    """Assemble the shards' COCO entries, run every exporter ``export_cfg`` asks for, then write the manifest
    (last: it marks the dataset finished). Returns the counts."""
    images, anns = [], []
    for s in shards:
        d = read_shard(shard_path(out, s.id))
        images.extend(d["images"])
        anns.extend(d["annotations"])
    info = {"description": f"simgen synthetic dataset, scene {manifest['scene']['name']}",
            "version": __version__, "contributor": "simgen", "url": "", "year": 2026,
            "seed": manifest["config"]["seed"]}
    coco = assemble(images, anns, categories_entry(categories), info)
    counts = {"images": len(coco["images"]), "annotations": len(coco["annotations"]),
              "per_category": {c["name"]: sum(1 for a in coco["annotations"] if a["category_id"] == c["id"])
                               for c in coco["categories"]},
              "images_without_objects": len({e["id"] for e in coco["images"]} -
                                            {a["image_id"] for a in coco["annotations"]})}
    files = {f"images/{e['file_name']}" for e in coco["images"]}
    files |= {e[k] for e in coco["images"] for k in ("depth_file", "instances_file") if e.get(k)}
    for exporter in exporters_for(export_cfg):
        planned = exporter.outputs(coco, export_cfg)
        record_owned(out, planned)  # before writing: they are simgen's from now on
        exporter.export(coco, out, export_cfg)
        files |= set(planned)
    files.add("manifest.json")
    manifest = {**manifest, "counts": counts, "files": sorted(files)}
    atomic.write_json(out / "manifest.json", manifest, indent=2)  # last: marks the dataset finished
    return counts
