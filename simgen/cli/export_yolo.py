"""``simgen export-yolo <coco dir> <out dir> [--val-fraction F] [--link hardlink|symlink|copy]``.

Converts a COCO dataset (simgen's layout: ``annotations.json`` + ``images/``, or any COCO file with
``--annotations``) to the YOLO layout ultralytics reads: ``images/<split>/``, ``labels/<split>/*.txt`` with
``class cx cy w h`` normalised, and ``data.yaml`` with the class names. ``simgen render export.format=yolo`` does
the same into ``<output_dir>/yolo`` as part of the render.

Every ``file_name`` must name an image inside ``coco_dir`` (relative to it or to its ``images/``): an absolute
path, a ``../`` or a symlink out of the folder ends the command with one line and exit code 2 before anything
is written or linked.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("simgen")

MAX_JSON_BYTES = 1 << 30  # annotations file read into memory


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
        if not args.coco_dir.is_dir():
            raise SimgenError(f"{args.coco_dir} is not a folder; pass the COCO dataset folder (annotations.json + "
                              "images/)")
        if ann.stat().st_size > MAX_JSON_BYTES:
            raise SimgenError(f"{ann} is {ann.stat().st_size / 2**20:.0f} MiB, more than the limit of "
                              f"{MAX_JSON_BYTES / 2**20:.0f} MiB; export a subset")
        try:
            coco = json.loads(ann.read_bytes())
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise SimgenError(f"{ann} is not valid JSON ({str(exc).splitlines()[0]}); pass a COCO annotations "
                              "file") from None
        except RecursionError:
            raise SimgenError(f"{ann} is nested too deeply to be COCO; pass a COCO annotations file") from None
        if args.out_dir.resolve() == args.coco_dir.resolve():
            raise SimgenError("out_dir must differ from coco_dir; e.g. <coco_dir>/yolo")
        counts = write_yolo(coco, args.coco_dir, args.out_dir, val_fraction=args.val_fraction, link=args.link,
                            source=ann)
    except SimgenError as exc:
        print(f"simgen: error: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("wrote %d images (%d train, %d val), %d boxes, %d classes to %s (data.yaml)", counts["images"],
             counts["train"], counts["val"], counts["labels"], counts["classes"], args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
