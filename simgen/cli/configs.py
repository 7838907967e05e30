"""Hydra's side of the typed configs: every command's schema registered in the ConfigStore, and DictConfig ->
dataclass conversion. The only place (with the command modules) that touches Hydra/OmegaConf config objects;
the library below takes the dataclasses (``simgen.config``, ``simgen.eval.schema``, ``simgen.sweep.schema``)."""

from __future__ import annotations

from typing import Any

_done = False


def subdir(root, name: str):
    """``${simgen_subdir:${assets.textures},surfaces}``: ``root/name``, or null when ``root`` is null/empty."""
    if root in (None, "", "None", "null"):
        return None
    from pathlib import Path

    return str(Path(str(root)).expanduser() / str(name))


def scene_stem(scene) -> str:
    """``${simgen_stem:${scene}}``: the default output folder's name: a scene file's stem (``/a/b/my_scene.yaml``
    -> ``my_scene``), or the built-in scene's name."""
    from pathlib import PurePath

    s = str(scene or "scene")
    name = PurePath(s).stem if s.endswith((".yaml", ".yml")) else PurePath(s).name
    return name or "scene"


def render_groups(_=None) -> str:
    """``simgen render --help``: the config groups this command takes (not those of other commands)."""
    from simgen.paths import conf_dir
    from simgen.randomize.schema import FAMILIES
    from simgen.renderers import BACKENDS

    conf = conf_dir()

    def options(group: str) -> str:
        return ", ".join(sorted(p.stem for p in (conf / group).glob("*.yaml")))

    lines = [f"randomization: {options('randomization')}"]
    lines += [f"randomization/{f}: {options('randomization/' + f)}" for f in FAMILIES]
    lines += [f"executor: {options('executor')}", f"render.backend (a key): {', '.join(BACKENDS)}"]
    return "\n".join(lines)


def register_all() -> None:
    """Register ``render_schema``, ``score_schema`` and ``experiment_schema`` and the config resolvers
    (idempotent)."""
    global _done
    if _done:
        return
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("simgen_subdir"):
        OmegaConf.register_new_resolver("simgen_subdir", subdir)
    if not OmegaConf.has_resolver("simgen_stem"):
        OmegaConf.register_new_resolver("simgen_stem", scene_stem)
    if not OmegaConf.has_resolver("simgen_render_groups"):
        OmegaConf.register_new_resolver("simgen_render_groups", render_groups)
    from hydra.core.config_store import ConfigStore

    from simgen.config import RenderAppConfig
    from simgen.eval.schema import ScoreAppConfig
    from simgen.sweep.schema import ExperimentAppConfig

    cs = ConfigStore.instance()
    cs.store(name="render_schema", node=RenderAppConfig)
    cs.store(name="score_schema", node=ScoreAppConfig)
    cs.store(name="experiment_schema", node=ExperimentAppConfig)
    _done = True


def store(name: str, node: type) -> None:
    """Register one more schema (a command's own, e.g. the gallery's)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=name, node=node)


def to_object(node: Any) -> Any:
    """A DictConfig (or plain value) -> the dataclass/plain object the library takes."""
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_object(node) if isinstance(node, DictConfig) else node


def score_settings(node: Any):
    """The ``score`` node of a composed config -> :class:`simgen.eval.schema.ScoreSettings`."""
    from simgen.eval.schema import ScoreSettings

    obj = to_object(node)
    return obj if isinstance(obj, ScoreSettings) else ScoreSettings.from_dict(obj)
