"""The Python API: the command line's exact behaviour, from Python.

``simgen.render(scene="default", n_images=100, overrides=["randomization=strong"])`` composes the same Hydra
config as ``simgen render scene=default n_images=100 randomization=strong`` (same defaults: moderate
randomization, ``out/<scene>``), runs it with the same progress log, and returns where the dataset is and what it
holds. ``simgen.score(...)`` does the same for ``simgen score``. Errors are raised as
:class:`simgen.errors.SimgenError` (one-line messages), not turned into exit codes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional


@dataclass
class RenderResult:
    """What ``simgen.render`` made: the dataset folder, its counts and timing."""

    output_dir: Path
    images: int
    annotations: int
    per_category: dict = field(default_factory=dict)
    seconds: float = 0.0
    images_per_second: float = 0.0

    @property
    def annotations_file(self) -> Path:
        return self.output_dir / "annotations.json"


def _overrides(kwargs: dict, overrides: Iterable[str]) -> list[str]:
    out = []
    for k, v in kwargs.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = str(v).lower()
        out.append(f"{k}={v}")
    return out + list(overrides)


def compose(config_name: str, overrides: list[str]):
    """The composed config object (dataclass) of a command, as its command line would compose it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from simgen.cli.configs import register_all
    from simgen.cli.overrides import lift_dict_overrides
    from simgen.errors import ConfigError
    from simgen.paths import conf_dir

    register_all()
    overrides = lift_dict_overrides(overrides)
    gh = GlobalHydra.instance()
    was = gh.is_initialized()
    if was:
        gh.clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = hydra_compose(config_name=config_name, overrides=list(overrides))
            return OmegaConf.to_object(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        cause = exc.__cause__ or exc
        msg = next((ln.strip() for ln in str(cause).splitlines() if ln.strip()), type(cause).__name__)
        raise ConfigError(f"invalid overrides {list(overrides)}: {msg}") from None
    finally:
        GlobalHydra.instance().clear()


def _ensure_logging() -> None:
    """The command line's log format on stderr, when the caller has configured no logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")


def render(scene: str = "default", n_images: Optional[int] = None, *, output_dir: Optional[str] = None,
           seed: Optional[int] = None, overwrite: Optional[bool] = None, workers: Optional[int] = None,
           overrides: Iterable[str] = (), **keys: Any) -> RenderResult:
    """``simgen render`` from Python; ``overrides`` are command-line overrides (``"randomization=strong"``,
    ``"render.width=320"``); further keyword arguments are config keys with dots as ``__``
    (``assets__root="../shared/ycb"``). Same config + seed = the same bytes as the command line."""
    from simgen.run.job import render_dataset

    kw = {"scene": scene, "n_images": n_images, "output_dir": output_dir, "seed": seed, "overwrite": overwrite,
          "workers": workers, **{k.replace("__", "."): v for k, v in keys.items()}}
    cfg = compose("render", _overrides(kw, overrides))
    _ensure_logging()
    res = render_dataset(cfg)
    return RenderResult(output_dir=Path(res["output_dir"]), images=res["images"], annotations=res["annotations"],
                        per_category=res.get("per_category", {}), seconds=float(res["seconds"]),
                        images_per_second=float(res["images_per_second"]))


def score(synthetic_dir: Optional[str], real_dir: str, *, output_dir: Optional[str] = None,
          preset: Optional[str] = None, overrides: Iterable[str] = (), **keys: Any) -> dict:
    """``simgen score`` from Python (``preset``: ``quick``, ``fid_only`` or null for the full run); returns the
    report (what report.json holds)."""
    from simgen.cli.configs import score_settings
    from simgen.eval.score import score_datasets

    kw = {"synthetic_dir": synthetic_dir, "real_dir": real_dir, "output_dir": output_dir, "score": preset,
          **{k.replace("__", "."): v for k, v in keys.items()}}
    cfg = compose("score", _overrides(kw, overrides))
    _ensure_logging()
    return score_datasets(cfg.synthetic_dir, cfg.real_dir, cfg.output_dir, score_settings(cfg.score),
                          real_train_dir=cfg.real_train_dir, seed=int(cfg.seed), device=str(cfg.device))
