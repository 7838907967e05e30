"""Command-line override rewrites applied before Hydra sees them.

``a.b.leaf={dist: uniform, low: 1, high: 2}`` fails inside OmegaConf when ``leaf`` is an optional structured field
whose value is null (e.g. ``randomization.camera.elevation_deg``, null = "the scene's value"): OmegaConf merges the
dict into the typed null node and raises ``AttributeError: 'NoneType' object has no attribute 'get'``
(omry/omegaconf#1360). Merging through the parent works and means the same thing, so a dict-valued override of a
dotted key is rewritten to ``a.b={leaf: {...}}``.

Several such overrides of one parent become **one** override holding every leaf (``a.b={x: {...}, y: {...}}``): Hydra's
multirun sweeper (``simgen experiment``, ``simgen sweep``) keeps only the last override of each key, so two lifted
overrides of one family (``randomization.sensor.read_noise={...}`` and ``randomization.sensor.sharpen_probability=
{...}``) would otherwise lose all but the last without a word.
"""

from __future__ import annotations

import re
from typing import Iterable

_DICT_OVERRIDE = re.compile(r"^(?P<parent>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\.(?P<leaf>[A-Za-z_]\w*)"
                            r"=(?P<value>\{.*\})$", re.DOTALL)


def _one_dict(value: str) -> bool:
    """True when ``value`` is a single ``{...}`` (its first brace closes at its end): not a sweep ``{..},{..}``."""
    depth = 0
    for i, ch in enumerate(value):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            return i == len(value) - 1
    return False


def lift_dict_overrides(args: Iterable[str]) -> list[str]:
    """``parent.leaf={...}`` -> ``parent={leaf: {...}}`` for plain (no ``+``/``~``/``hydra.``) overrides of one dict
    (a sweep over several, ``{..},{..}``, is left to Hydra). Lifted overrides of one parent are joined into one, at
    the place of the first; a leaf given twice keeps its later value (as Hydra's last-wins)."""
    out: list[str | tuple[str]] = []  # an override, or (parent,): the place of that parent's joined override
    leaves: dict[str, dict[str, str]] = {}  # parent -> leaf -> value, in first-seen order
    for arg in args:
        m = _DICT_OVERRIDE.match(arg)
        if m and not arg.startswith("hydra.") and _one_dict(m["value"]):
            if m["parent"] not in leaves:
                leaves[m["parent"]] = {}
                out.append((m["parent"],))
            leaves[m["parent"]][m["leaf"]] = m["value"]
        else:
            out.append(arg)
    return [a if isinstance(a, str) else
            f"{a[0]}={{{', '.join(f'{leaf}: {value}' for leaf, value in leaves[a[0]].items())}}}" for a in out]
