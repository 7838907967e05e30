"""Exporters: the finished dataset's COCO set written out in each format a user asked for.

An exporter is a class with a ``name`` and ``export(coco, out, cfg) -> [relative paths written]`` (``cfg`` is the
``export.*`` config). COCO (``annotations.json``) is always written; ``export.format=<name>`` adds another format
(``yolo``: ``yolo/`` in the ultralytics layout) and ``export.preview=true`` the contact sheet. Each exporter
names its files before writing them (``outputs``), for the dataset's ownership record. Adding a format =
one module with its exporter + one line in :data:`EXPORTERS` (or an entry point in the ``simgen.exporters`` group).
Exporters write atomically (:mod:`simgen.export.atomic`) and only inside ``out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from simgen.core.plugins import entry_point_specs, load_attr

EXPORTERS: dict[str, str] = {
    "coco": "simgen.export.coco:CocoExporter",
    "yolo": "simgen.export.yolo:YoloExporter",
    "preview": "simgen.export.preview:PreviewExporter",
}
for _name, _target in entry_point_specs("simgen.exporters"):
    EXPORTERS.setdefault(_name, _target)


class Exporter(Protocol):
    name: str

    def outputs(self, coco: dict, cfg: Any) -> list[str]:
        """The paths (relative to the dataset folder) :meth:`export` will write: recorded as simgen's before
        they are written, so they can be replaced or removed later, and nothing else ever is."""

    def export(self, coco: dict, out: Path, cfg: Any) -> list[str]:
        """Write this format of the dataset in ``out`` (its images are ``out/images/<file_name>``); return the
        paths written, relative to ``out``."""


def format_names() -> list[str]:
    """Values of ``export.format``: coco alone, or coco plus one more format."""
    return [n for n in EXPORTERS if n != "preview"]


def exporters_for(cfg: Any) -> list[Exporter]:
    """The exporters a config asks for, in order: coco, ``export.format`` (if not coco), preview."""
    names = ["coco"] + ([cfg.format] if cfg.format != "coco" else []) + (["preview"] if cfg.preview else [])
    return [load_attr(EXPORTERS[n])() for n in names]
