"""Locations of the project's data folders (conf/, scenes/, assets/).

From a clone (editable install) they are the top-level folders beside ``simgen/``; from a built wheel they are
packaged as ``simgen/_data/<name>``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Absolute path of a project data folder: ``conf``, ``scenes`` or ``assets``."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    clone = _PKG.parent / name
    if clone.is_dir():
        return clone
    raise FileNotFoundError(f"simgen data folder {name!r} not found at {packaged} or {clone}; reinstall simgen")


def conf_dir() -> Path:
    return data_dir("conf")


def scenes_dir() -> Path:
    return data_dir("scenes")


def assets_dir() -> Path:
    return data_dir("assets")
