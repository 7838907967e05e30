"""Registries that load on demand: ``"module:attribute"`` strings and installed packages' entry points.

Every extension point (renderers, simulators, executors, exporters, randomization families) is a dict of name ->
``"module:attribute"``; a third-party package adds to one with an entry point in the group ``simgen.<point>``.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)


def load_attr(target: str):
    """``"package.module:attr.sub"`` -> the object."""
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def entry_point_specs(group: str) -> list[tuple[str, str]]:
    """(name, "module:attr") of every installed entry point in ``group``, sorted by name."""
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group=group)
    except (OSError, ValueError) as exc:  # a broken distribution on sys.path must not stop simgen
        log.warning("could not read entry points of %s: %s", group, exc)
        return []
    return sorted((ep.name, ep.value) for ep in eps)
