"""``simgen render``: render a labelled COCO dataset from a scene description (Hydra app)."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig, OmegaConf

from simgen.cli.common import report_errors
from simgen.cli.configs import register_all
from simgen.config import RenderAppConfig
from simgen.paths import conf_dir

log = logging.getLogger("simgen")

CONFIG_NAME = "render"


def to_render_config(cfg: DictConfig) -> RenderAppConfig:
    """Hydra's DictConfig -> the typed dataclass the library takes."""
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]


@report_errors
def _run(cfg: DictConfig) -> None:
    from simgen.run.job import render_dataset

    render_dataset(to_render_config(cfg))


register_all()


@hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")
def main(cfg: DictConfig) -> None:
    _run(cfg)


if __name__ == "__main__":
    main()
