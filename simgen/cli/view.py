"""``simgen view <dataset> [launch=false] [port=5151] [address=localhost]``: open a rendered set in FiftyOne.

Loads ``<dataset>/annotations.json`` + ``images/`` as a FiftyOne COCO detection dataset (boxes, instance masks,
visibility and truncation per object) and launches the FiftyOne app on it. Without the ``fiftyone`` package it says
how to install it; ``<dataset>/preview.png`` (written by every render) shows the labels without it.

keys:
  launch=false        build the FiftyOne dataset and print its summary, without starting the app
  port=<n>            the app's port (default 5151)
  address=<host>      the app's address (default localhost; 0.0.0.0 to reach it from another machine)
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path

from simgen.cli.common import folder_and_keys

log = logging.getLogger("simgen")

KEYS = {"launch", "port", "address"}
INSTALL_HINT = "pip install 'simgen[fiftyone]'"
MAX_ANNOTATIONS_BYTES = 2 * 1024**3


class _ViewError(Exception):
    pass


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def parse_args(argv: list[str]) -> tuple[Path, dict[str, str]]:
    """``<folder> key=value ...`` -> (folder, {key: value}); _ViewError with a one-line message."""
    return folder_and_keys(argv, KEYS, "dataset folder", "simgen view <dataset folder> (the output_dir of simgen render)", _ViewError)


def dataset_name(folder: Path) -> str:
    """FiftyOne dataset name of a folder: its name plus a short hash of its absolute path (stable, unique)."""
    h = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    return f"simgen-{folder.resolve().name}-{h}"


def load_fiftyone(folder: Path):
    """Build a (non-persistent) FiftyOne dataset from the COCO set in ``folder``; _ViewError on failure."""
    import fiftyone as fo

    try:
        from fiftyone.core.odm import get_db_conn

        get_db_conn()
    except Exception as exc:  # FiftyOneConfigError, ServiceExecutableNotFound, ServerSelectionTimeoutError, ...
        raise _ViewError(f"FiftyOne is installed but its database (MongoDB) does not start ({_first_line(exc)}); "
                         f"install a fiftyone-db build for this OS or set FIFTYONE_DATABASE_URI to a running "
                         f"MongoDB; {folder / 'preview.png'} shows the labels meanwhile") from None
    try:
        return fo.Dataset.from_dir(dataset_dir=str(folder), dataset_type=fo.types.COCODetectionDataset,
                                   data_path="images", labels_path="annotations.json",
                                   label_types=["segmentations"], label_field="ground_truth",
                                   name=dataset_name(folder), overwrite=True)
    except Exception as exc:  # FiftyOne's importer raises many types for data it rejects
        raise _ViewError(f"FiftyOne could not load {folder / 'annotations.json'} ({type(exc).__name__}: "
                         f"{_first_line(exc)}); check the COCO file") from None


def run(argv: list[str]) -> int:
    """The command on ``argv`` (arguments after ``view``) -> exit status (0 shown/built, 2 not)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder, kv = parse_args(argv)
        launch = kv.get("launch", "true").lower()
        if launch not in {"true", "false", "1", "0", "yes", "no"}:
            raise _ViewError(f"launch={kv['launch']!r}; use launch=true or launch=false")
        try:
            port = int(kv.get("port", "5151"))
        except ValueError:
            raise _ViewError(f"port={kv['port']!r} is not an integer") from None
        if not 1 <= port <= 65535:
            raise _ViewError(f"port={port} is not a TCP port (1..65535)")
        ann = folder / "annotations.json"
        if not ann.is_file() or not (folder / "images").is_dir():
            raise _ViewError(f"{folder} holds no annotations.json + images/; pass the output_dir of simgen render")
        if ann.stat().st_size > MAX_ANNOTATIONS_BYTES:
            raise _ViewError(f"{ann} is larger than {MAX_ANNOTATIONS_BYTES // 2**30} GiB; view a smaller set")
        preview = folder / "preview.png"
        try:
            import fiftyone  # noqa: F401
        except ImportError:
            where = f"open {preview} for a contact sheet" if preview.is_file() else \
                f"no {preview.name} here either (render with export.preview=true)"
            raise _ViewError(f"FiftyOne is not installed: {INSTALL_HINT} (then simgen view {folder}); "
                             f"meanwhile {where}") from None
        ds = load_fiftyone(folder)
        n_det = ds.count("ground_truth.detections")
        log.info("FiftyOne dataset %r: %d images, %d objects with boxes and masks (%s)", ds.name, len(ds), n_det,
                 ", ".join(ds.distinct("ground_truth.detections.label")[:10]))
        if preview.is_file():
            log.info("contact sheet: %s", preview)
        if launch in {"false", "0", "no"}:
            return 0
        import fiftyone as fo

        session = fo.launch_app(ds, port=port, address=kv.get("address", "localhost"), auto=False)
        log.info("FiftyOne app at %s (Ctrl-C to stop)", session.url)
        try:
            session.wait(-1)
        except KeyboardInterrupt:
            pass
        return 0
    except _ViewError as exc:
        print(f"simgen view: error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> None:
    if any(a in {"-h", "--help", "help"} for a in (sys.argv[1:] if argv is None else argv)):
        print(__doc__)
        sys.exit(0)
    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
