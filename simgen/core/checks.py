"""One way to validate configs: rules in field metadata, checked by :func:`validate_fields`.

A dataclass field declares its rules where it is declared::

    n_images: int = field(default=16, metadata=check(min=1, max=MAX_IMAGES))
    segmentation: str = field(default="polygon", metadata=check(choices=("polygon", "rle")))
    distance: list[float] = field(default_factory=lambda: [0.7, 1.1], metadata=check(pair=True, gt=0))
    n_lights: Dist = randint(1, 3, integer=True, min=0, max=4)        # distributions: simgen.core.dist

:func:`validate_fields` walks a config (nested dataclasses too), applies every field's rules, refuses NaN and
infinity in every number (ruled or not), then calls the dataclass's own ``check(prefix)`` method, if it has one,
for rules that relate several fields. Every failure is a :class:`~simgen.errors.ConfigError` whose one line names
the key and the fix. Rules for plain values:

- ``min`` / ``max``: inclusive bounds; ``gt``: exclusive lower bound; ``integer``: a whole number;
- ``choices``: the value is one of these (a collection, or a zero-argument callable returning one: registries);
- ``names``: every element of a list is one of these; ``nonempty``: the list has at least one element;
- ``pair``: a ``[min, max]`` range of two numbers with min <= max (bounds apply to both ends);
- ``length``: a list of exactly this many numbers (bounds apply to each); ``each``: a list of numbers of any
  length (bounds apply to each);
- ``fix``: the fix to name instead of the generated one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from typing import Any, Iterable, Union

from simgen.core.dist import Dist
from simgen.errors import ConfigError

_PLAIN_RULES = {"min", "max", "gt", "integer", "choices", "names", "nonempty", "pair", "length", "each", "fix"}


def check(**rules) -> dict:
    """Field metadata carrying validation rules (see the module docstring)."""
    unknown = set(rules) - _PLAIN_RULES
    if unknown:
        raise TypeError(f"unknown check rule(s): {sorted(unknown)}")
    return {"check": rules}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _choices(c) -> list:
    return list(c() if callable(c) else c)


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def check_value(key: str, v: Any, rules: dict) -> None:
    """Apply plain-value ``rules`` to ``v`` (named ``key`` in the message)."""
    fix = rules.get("fix")
    if "choices" in rules:
        allowed = _choices(rules["choices"])
        if v not in allowed:
            raise ConfigError(f"{key}: unknown value {_fmt(v)}; use one of {', '.join(map(str, allowed))}"
                              + (f" ({fix})" if fix else ""))
        return
    if "names" in rules:
        allowed = _choices(rules["names"])
        items = list(v or [])
        if rules.get("nonempty") and not items:
            raise ConfigError(f"{key}: needs at least one of {', '.join(map(str, allowed))}")
        for n in items:
            if n not in allowed:
                raise ConfigError(f"{key}: unknown value {_fmt(n)}; use one of {', '.join(map(str, allowed))}")
        return
    if rules.get("nonempty") and not v:
        raise ConfigError(f"{key}: must not be empty" + (f"; {fix}" if fix else ""))
    if rules.get("each"):
        items = list(v) if isinstance(v, (list, tuple)) else None
        if items is None or not all(_is_number(x) for x in items):
            raise ConfigError(f"{key} must be a list of numbers, got {v!r}; write it as [x, ...]")
        for x in items:
            _check_number(key, x, rules)
        return
    if rules.get("pair") or "length" in rules:
        n = 2 if rules.get("pair") else int(rules["length"])
        items = list(v) if isinstance(v, (list, tuple)) else None
        if items is None or len(items) != n or not all(_is_number(x) for x in items):
            shape = "a range [min, max]" if rules.get("pair") else f"a list of {n} numbers"
            raise ConfigError(f"{key} must be {shape}, got {v!r}; write it as " +
                              ("[min, max]" if rules.get("pair") else f"[{', '.join(['x'] * n)}]"))
        for x in items:
            _check_number(key, x, rules)
        if rules.get("pair") and items[0] > items[1]:
            raise ConfigError(f"{key} has min > max ({items[0]} > {items[1]}); swap them")
        return
    if v is None:
        return
    _check_number(key, v, rules)


def _check_number(key: str, v: Any, rules: dict) -> None:
    if not any(r in rules for r in ("min", "max", "gt", "integer")):
        return
    fix = rules.get("fix")
    if not _is_number(v) or not math.isfinite(float(v)):
        raise ConfigError(f"{key} must be a finite number, got {v!r}" + (f"; {fix}" if fix else "; fix the value"))
    if rules.get("integer") and float(v) != int(v):
        raise ConfigError(f"{key} must be a whole number, got {v}")
    lo, hi, gt = rules.get("min"), rules.get("max"), rules.get("gt")
    if (lo is not None and v < lo) or (hi is not None and v > hi) or (gt is not None and v <= gt):
        want = " and ".join(s for s in (f">= {lo}" if lo is not None else "", f"> {gt}" if gt is not None else "",
                                        f"<= {hi}" if hi is not None else "") if s)
        raise ConfigError(f"{key} must be {want}, got {v}" + (f"; {fix}" if fix else ""))


def _non_finite(v: Any) -> bool:
    if _is_number(v):
        return not math.isfinite(float(v))
    if isinstance(v, (list, tuple)):
        return any(_non_finite(x) for x in v)
    return False


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no type check for that class
        return {}


_NAMES = {str: "text", bool: "true or false", int: "a whole number", float: "a number", list: "a list"}


def _type_ok(v: Any, t: Any) -> bool:
    """Whether ``v`` fits the annotation ``t`` (str, bool, int, float, Optional/Union, list[...], dataclasses)."""
    origin = typing.get_origin(t)
    if t is Any:
        return True
    if origin is Union:
        return any(_type_ok(v, a) for a in typing.get_args(t))
    if t is type(None):
        return v is None
    if origin in (list, tuple):
        if not isinstance(v, (list, tuple)):
            return False
        args = typing.get_args(t)
        return not args or all(_type_ok(x, args[0]) for x in v)
    if t is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if isinstance(t, type):
        return isinstance(v, t)
    return True


def _type_name(t: Any) -> str:
    origin = typing.get_origin(t)
    if origin is Union:
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(t))
    if origin in (list, tuple):
        return "a list"
    return _NAMES.get(t, getattr(t, "__name__", str(t)))


def _check_types(obj: Any, prefix: str) -> None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        t, v = hints.get(f.name), getattr(obj, f.name)
        if t is not None and not _type_ok(v, t):
            raise ConfigError(f"{prefix}.{f.name} must be {_type_name(t)}, got {v!r}; fix its value")


def validate_fields(obj: Any, prefix: str, skip: Iterable[str] = ()) -> None:
    """Validate the dataclass ``obj`` (keys named ``prefix.<field>``): each value's type (from the annotations),
    field rules, NaN/inf anywhere, nested dataclasses, then ``obj.check(prefix)``. Raises ConfigError naming the
    first bad key."""
    skip = set(skip)
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        v = getattr(obj, f.name)
        key = f"{prefix}.{f.name}" if prefix else f.name
        t = hints.get(f.name)
        if t is not None and not _type_ok(v, t):
            raise ConfigError(f"{key} must be {_type_name(t)}, got {v!r}; fix its value")
        rules = f.metadata.get("check")
        if isinstance(v, Dist):
            _check_types(v, key)
            v.validate(key, **(rules or {}))
            continue
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            validate_fields(v, key)
            continue
        if isinstance(v, list) and v and all(dataclasses.is_dataclass(x) for x in v):
            for i, x in enumerate(v):
                validate_fields(x, f"{key}[{i}]")
            continue
        if _non_finite(v):
            raise ConfigError(f"{key} contains {v!r}; use finite numbers (no NaN or infinity)")
        if rules:
            check_value(key, v, rules)
    own = getattr(obj, "check", None)
    if callable(own):
        own(prefix)
