"""``simgen export-yolo <coco dir> <out dir> [--val-fraction F] [--link hardlink|symlink|copy]``.

Converts a COCO dataset (simgen's layout: ``annotations.json`` + ``images/``, or any COCO file with
``--annotations``) to the YOLO layout ultralytics reads: ``images/<split>/``, ``labels/<split>/*.txt`` with
``class cx cy w h`` normalised, and ``data.yaml`` with the class names. ``simgen render export.format=yolo`` does
the same into ``<output_dir>/yolo`` as part of the render.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("simgen")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simgen export-yolo", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("coco_dir", type=Path, help="COCO folder (annotations.json + images/)")
    p.add_argument("out_dir", type=Path, help="folder to write the YOLO dataset into")
    p.add_argument("--annotations", type=Path, default=None,
                   help="COCO json (default: <coco_dir>/annotations.json)")
    p.add_argument("--val-fraction", type=float, default=0.0,
                   help="fraction of images (the highest ids) put in the val split; 0: val = train (default)")
    p.add_argument("--link", choices=("hardlink", "symlink", "copy"), default="hardlink",
                   help="how images are placed (hardlink falls back to copy across filesystems)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    from simgen.errors import SimgenError
    from simgen.export.yolo import write_yolo

    ann = args.annotations or args.coco_dir / "annotations.json"
    try:
        if not ann.is_file():
            raise SimgenError(f"{ann} not found; pass a COCO folder holding annotations.json (or --annotations)")
        if not 0.0 <= args.val_fraction < 1.0:
            raise SimgenError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
        try:
            coco = json.loads(ann.read_text())
        except ValueError as exc:
            raise SimgenError(f"{ann} is not valid JSON ({exc}); pass a COCO annotations file") from None
        if args.out_dir.resolve() == args.coco_dir.resolve():
            raise SimgenError("out_dir must differ from coco_dir; e.g. <coco_dir>/yolo")
        counts = write_yolo(coco, args.coco_dir, args.out_dir, val_fraction=args.val_fraction, link=args.link)
    except SimgenError as exc:
        print(f"simgen: error: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("wrote %d images (%d train, %d val), %d boxes, %d classes to %s (data.yaml)", counts["images"],
             counts["train"], counts["val"], counts["labels"], counts["classes"], args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
