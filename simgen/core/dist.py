"""Distributions in configs (the randomization families' parameters): :class:`Dist` and its shorthands.

A distribution in YAML::

    {dist: const, value: 1.0}
    {dist: uniform, low: 0.5, high: 2.0}
    {dist: loguniform, low: 0.01, high: 1.0}          # low > 0
    {dist: normal, mean: 0.0, std: 5.0, low: -15, high: 15}   # low/high optional: clip
    {dist: randint, low: 1, high: 4}                   # integers, both ends included
    {dist: choice, values: [a, b, c], p: [0.5, 0.3, 0.2]}     # p optional (uniform)

Semantic checks (min > max, NaN, probabilities, ...) run in :meth:`Dist.validate` (called by
:func:`simgen.core.checks.validate_fields`) and raise ``ConfigError`` naming the key, e.g.
``randomization.lighting.intensity: low > high (5.0 > 2.0); swap them``. A config field declares its rules with
the shorthand that makes its default, e.g. ``n_lights: Dist = randint(1, 3, integer=True, min=0, max=4)``: rules
``min``/``max`` (bounds every draw must respect), ``integer``, ``bounded`` (a normal needs clip bounds),
``allowed`` (the names a choice may draw; then the distribution is not numeric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from simgen.errors import ConfigError

DIST_KINDS = ("const", "uniform", "loguniform", "normal", "randint", "choice")


@dataclass
class Dist:
    """A scalar distribution (see the module docstring). Sample with :meth:`sample`."""

    dist: str = "const"
    value: Any = 0.0
    low: Optional[float] = None
    high: Optional[float] = None
    mean: float = 0.0
    std: float = 0.0
    values: list[Any] = field(default_factory=list)
    p: Optional[list[float]] = None

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: np.random.Generator) -> Any:
        """One draw. ``const`` draws nothing from ``rng``; the others draw exactly one value."""
        d = self.dist
        if d == "const":
            return self.value
        if d == "uniform":
            return float(rng.uniform(self.low, self.high))
        if d == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if d == "normal":
            v = float(rng.normal(self.mean, self.std))
            if self.low is not None:
                v = max(v, float(self.low))
            if self.high is not None:
                v = min(v, float(self.high))
            return v
        if d == "randint":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if d == "choice":
            k = int(rng.choice(len(self.values), p=self._probs()))
            return self.values[k]
        raise ConfigError(f"unknown distribution {d!r}")  # validate() catches this first

    def _probs(self) -> Optional[np.ndarray]:
        if self.p is None:
            return None
        p = np.asarray(self.p, np.float64)
        return p / p.sum()

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (numeric distributions); ``inf`` when unbounded."""
        d = self.dist
        if d == "const":
            return float(self.value), float(self.value)
        if d in ("uniform", "loguniform", "randint"):
            return float(self.low), float(self.high)
        if d == "normal":
            lo = -math.inf if self.low is None else float(self.low)
            hi = math.inf if self.high is None else float(self.high)
            return lo, hi
        vals = [float(v) for v in self.values]
        return min(vals), max(vals)

    def support(self) -> list[Any]:
        """Every value a ``choice``/``const`` can return (values with p > 0)."""
        if self.dist == "const":
            return [self.value]
        if self.dist == "choice":
            if self.p is None:
                return list(self.values)
            return [v for v, q in zip(self.values, self.p) if q > 0]
        raise ValueError("support() is only defined for const and choice")

    # ------------------------------------------------------------------ validation
    def validate(self, key: str, **rules) -> None:
        """Raise ConfigError naming ``key`` when the distribution is malformed or breaks a rule: ``min``/``max``
        (every draw in [min, max]), ``integer``, ``bounded`` (a normal needs clip bounds), ``allowed`` (names a
        choice may draw), ``numeric`` (false: names, not numbers)."""
        unknown = set(rules) - {"numeric", "min", "max", "integer", "bounded", "allowed"}
        if unknown:
            raise TypeError(f"unknown distribution rule(s) {sorted(unknown)} for {key}")
        allowed = rules.get("allowed")
        numeric = bool(rules.get("numeric", allowed is None))
        lo, hi = rules.get("min"), rules.get("max")
        integer, bounded = bool(rules.get("integer", False)), bool(rules.get("bounded", False))
        d = self.dist
        if d not in DIST_KINDS:
            raise ConfigError(f"{key}: unknown dist {d!r}; use one of {', '.join(DIST_KINDS)}")
        if allowed is not None or not numeric:
            if d not in ("const", "choice"):
                raise ConfigError(f"{key}: takes a name, so use dist: choice (values: [...]) or dist: const, "
                                  f"not {d}")
        if d == "choice":
            if not self.values:
                raise ConfigError(f"{key}: dist choice needs a non-empty 'values' list")
            if self.p is not None:
                if len(self.p) != len(self.values):
                    raise ConfigError(f"{key}: p has {len(self.p)} entries but values has {len(self.values)}; "
                                      f"give one probability per value (a p kept from the preset? set p: null)")
                if any((not _finite(q)) or q < 0 for q in self.p) or sum(self.p) <= 0:
                    raise ConfigError(f"{key}: p must be finite numbers >= 0 with a positive sum, got {list(self.p)}")
        if allowed is not None:
            for v in (self.support() if d in ("const", "choice") else []):
                if v not in allowed:
                    raise ConfigError(f"{key}: unknown value {v!r}; use one of {', '.join(sorted(map(str, allowed)))}")
        if not numeric:
            return
        if d == "const":
            _num(key, "value", self.value)
        elif d in ("uniform", "loguniform", "randint"):
            for name in ("low", "high"):
                if getattr(self, name) is None:
                    raise ConfigError(f"{key}: dist {d} needs '{name}'")
                _num(key, name, getattr(self, name))
            if self.low > self.high:
                raise ConfigError(f"{key}: low > high ({self.low} > {self.high}); swap them")
            if d == "loguniform" and self.low <= 0:
                raise ConfigError(f"{key}: loguniform needs low > 0, got {self.low}")
            if d == "randint" and (float(self.low) != int(self.low) or float(self.high) != int(self.high)):
                raise ConfigError(f"{key}: randint needs whole numbers, got [{self.low}, {self.high}]")
        elif d == "normal":
            _num(key, "mean", self.mean)
            _num(key, "std", self.std)
            if self.std < 0:
                raise ConfigError(f"{key}: std must be >= 0, got {self.std}")
            for name in ("low", "high"):
                if getattr(self, name) is not None:
                    _num(key, name, getattr(self, name))
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ConfigError(f"{key}: low > high ({self.low} > {self.high}); swap them")
            if bounded and (self.low is None or self.high is None):
                raise ConfigError(f"{key}: a normal distribution here needs both 'low' and 'high' (clip bounds)")
        elif d == "choice":
            for v in self.values:
                _num(key, "values", v)
        if integer:
            if d not in ("const", "randint", "choice"):
                raise ConfigError(f"{key}: takes whole numbers; use dist: randint, choice or const, not {d}")
            for v in ([self.value] if d == "const" else self.values if d == "choice" else []):
                if float(v) != int(v):
                    raise ConfigError(f"{key}: takes whole numbers, got {v}")
        b_lo, b_hi = self.bounds()
        if lo is not None and b_lo < lo:
            raise ConfigError(f"{key}: values must be >= {lo}, but this distribution reaches {b_lo}; "
                              f"raise its lower end" + (" (set low: for a normal)" if d == "normal" else ""))
        if hi is not None and b_hi > hi:
            raise ConfigError(f"{key}: values must be <= {hi}, but this distribution reaches {b_hi}; "
                              f"lower its upper end" + (" (set high: for a normal)" if d == "normal" else ""))


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _num(key: str, name: str, v: Any) -> None:
    if isinstance(v, bool) or not _finite(v):
        raise ConfigError(f"{key}: {name} must be a finite number, got {v!r}; fix the value")


# ---------------------------------------------------------------------- shorthands for defaults (+ their rules)

def _f(make, rules: dict):
    return field(default_factory=make, metadata={"check": rules} if rules else {})


def const(v: Any, **rules):
    return _f(lambda: Dist("const", value=v), rules)


def uniform(lo: float, hi: float, **rules):
    return _f(lambda: Dist("uniform", low=lo, high=hi), rules)


def loguniform(lo: float, hi: float, **rules):
    return _f(lambda: Dist("loguniform", low=lo, high=hi), rules)


def normal(mean: float, std: float, lo: Optional[float] = None, hi: Optional[float] = None, **rules):
    """A normal distribution clipped to [lo, hi] (either may be None)."""
    return _f(lambda: Dist("normal", mean=mean, std=std, low=lo, high=hi), rules)


def randint(lo: int, hi: int, **rules):
    return _f(lambda: Dist("randint", low=lo, high=hi), rules)


def choice(values: list, p: Optional[list[float]] = None, **rules):
    return _f(lambda: Dist("choice", values=list(values), p=None if p is None else list(p)), rules)


def optional(**rules):
    """An optional distribution (null = use the scene's own value)."""
    return field(default=None, metadata={"check": rules} if rules else {})
