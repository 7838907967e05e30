"""The ``randomization.*`` config: one field per registered family (:mod:`simgen.randomize.families`), each
that family's own config dataclass (``conf/randomization/<family>/<preset>.yaml``).

Every family has ``enabled`` (false in the dataclass defaults, so a bare ``RandomizationConfig()`` is the spine:
no extra randomization) and its parameters as distributions (:mod:`simgen.core.dist`) with their rules in the
field metadata, checked by :func:`validate_randomization` (ConfigError naming the key).
"""

from __future__ import annotations

from dataclasses import field, make_dataclass

from simgen.core.checks import validate_fields
from simgen.core.dist import Dist  # noqa: F401  (re-exported: configs and tests build distributions from here)
from simgen.randomize.families import family_classes
from simgen.randomize.family import Family

FAMILY_TYPES: dict[str, type] = family_classes()
# family names in registry (= stream id) order
FAMILIES: tuple[str, ...] = tuple(FAMILY_TYPES)


def _enabled_families(self) -> list[str]:
    """Names of the families switched on, in registry order."""
    return [f for f in FAMILIES if getattr(self, f).enabled]


RandomizationConfig = make_dataclass(
    "RandomizationConfig",
    [(name, cls.Config, field(default_factory=cls.Config)) for name, cls in FAMILY_TYPES.items()],
    namespace={"enabled_families": _enabled_families})
RandomizationConfig.__module__ = __name__
RandomizationConfig.__doc__ = "All randomization families. ``RandomizationConfig()`` has every family off (= the spine)."


def validate_randomization(cfg, prefix: str = "randomization") -> None:
    """Check every family (enabled or not). Raises ConfigError naming the key and the fix."""
    for name in FAMILIES:
        validate_fields(getattr(cfg, name), f"{prefix}.{name}")


def families_markdown() -> str:
    """docs/families.md: every registered family with its stream id, order, hooks and keys (from the registry)."""
    import dataclasses

    lines = ["# Randomization families", "",
             "Generated from the registry (`simgen/randomize/families/__init__.py`) by "
             "`python -m simgen.randomize.schema > docs/families.md`; a test keeps it current.", "",
             "| family | stream id | order | hooks | what it does |", "|---|---|---|---|---|"]
    for name, cls in FAMILY_TYPES.items():
        doc = " ".join((cls.Config.__doc__ or "").split())
        setup = [h for h in ("setup", "pool_sizes", "categories") if getattr(cls, h) is not getattr(Family, h)]
        lines.append(f"| `{name}` | {cls.stream_id} | {cls.order} | {', '.join(setup + cls.hooks())} | {doc} |")
    lines += ["", "Presets: `conf/randomization/<family>/{off,moderate,strong}.yaml`; one family: "
              "`randomization/<family>=<preset>`; all: `randomization=off|moderate|strong`.", ""]
    for name, cls in FAMILY_TYPES.items():
        lines += [f"## `randomization.{name}`", ""]
        for f in dataclasses.fields(cls.Config):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if isinstance(default, Dist):
                d = default
                default = {"const": lambda: f"const {d.value}", "choice": lambda: f"choice {d.values}"}.get(
                    d.dist, lambda: f"{d.dist} [{d.low}, {d.high}]" if d.dist != "normal" else
                    f"normal(mean {d.mean}, std {d.std}) in [{d.low}, {d.high}]")()
            rules = f.metadata.get("check") or {}
            rule = ", ".join(f"{k} {v}" for k, v in rules.items() if k not in ("names", "allowed")) if rules else ""
            lines.append(f"- `{f.name}`: default `{default}`" + (f" ({rule})" if rule else ""))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(families_markdown(), end="")
