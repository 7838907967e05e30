"""Merge finished shards into the dataset: COCO, preview, other formats, and the manifest last."""

from __future__ import annotations

from pathlib import Path

from simgen import __version__
from simgen.export import atomic
from simgen.export.coco import assemble, categories_entry, read_shard
from simgen.run.shard import Shard, shard_path


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
        from simgen.export.preview import contact_sheet

        sheet = contact_sheet(out, coco, n=preview_n)
        atomic.write_png(out / "preview.png", sheet, 3)
    if export_format == "yolo":
        from simgen.export.yolo import write_yolo

        write_yolo(coco, out, out / "yolo", link="hardlink")
    atomic.write_json(out / "manifest.json", manifest, indent=2)  # last: marks the dataset finished
    return counts
