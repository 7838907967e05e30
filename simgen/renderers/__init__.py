"""Rendering backends behind one interface (:class:`simgen.renderers.base.Renderer`), selected by ``render.backend=``.

Registry: backend name -> (its config dataclass, its renderer class), as ``"module:attribute"`` strings so that
nothing engine-specific is imported until a backend is used. A backend's keys live under ``render.<name>``
(e.g. ``render.pyrender.msaa=false``). Adding a backend = one package under ``simgen/renderers/<name>/`` + one line
here, or an entry point in the ``simgen.renderers`` group of another installed package
(``<name> = "pkg.module:RendererClass"``; the class's ``Config`` attribute is its config dataclass).

Nothing outside ``simgen/renderers/<backend>/`` imports that backend's engine (pyrender, OpenGL, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from simgen.core.plugins import entry_point_specs, load_attr
from simgen.errors import ConfigError


@dataclass(frozen=True)
class Backend:
    name: str
    config: str  # "module:ConfigDataclass" (engine-free module)
    renderer: str  # "module:RendererClass" (may import its engine lazily, inside methods)


BACKENDS: dict[str, Backend] = {
    "pyrender": Backend("pyrender", "simgen.renderers.pyrender.config:PyrenderConfig",
                        "simgen.renderers.pyrender.backend:PyrenderRenderer"),
    "mitsuba": Backend("mitsuba", "simgen.renderers.mitsuba.config:MitsubaConfig",
                       "simgen.renderers.mitsuba.backend:MitsubaRenderer"),
}
for _name, _target in entry_point_specs("simgen.renderers"):
    BACKENDS.setdefault(_name, Backend(_name, _target + ".Config", _target))


def backend_names() -> list[str]:
    return list(BACKENDS)


def config_class(name: str) -> type:
    return load_attr(BACKENDS[name].config)


def renderer_class(name: str) -> type:
    """The renderer class of backend ``name`` (ConfigError naming the choices for an unknown name)."""

    if name not in BACKENDS:
        raise ConfigError(f"unknown render.backend {name!r}; use one of {', '.join(BACKENDS)}")
    return load_attr(BACKENDS[name].renderer)
