"""``simgen experiment`` config: the render schema (same keys as ``simgen render``) + real data + the ``score``
node of ``simgen score`` (:class:`simgen.eval.schema.ScoreSettings`) + experiment keys. Imports neither torch nor
Hydra at import time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from simgen.config import RenderAppConfig
from simgen.eval.schema import ScoreSettings
from simgen.randomize.schema import RandomizationConfig

# randomization families (fields of RandomizationConfig), in config order: the values of `ablate`
FAMILIES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RandomizationConfig))


@dataclass
class ExperimentAppConfig(RenderAppConfig):
    """``simgen experiment``: render a synthetic set, score it against real photos, one report.json per job."""

    # The job's folder: synthetic/ (COCO), score/ (simgen score's output), report.json, experiment.log.
    # null = Hydra's job dir (hydra.run.dir, or hydra.sweep.dir/hydra.sweep.subdir under -m).
    output_dir: Optional[str] = None
    # COCO folder of held-out real photos (test only); required unless run_score=false.
    real_dir: Optional[str] = None
    # Real training photos (score.protocol real / synthetic_then_real / mixed), never real_dir.
    real_train_dir: Optional[str] = None
    # Scoring device: auto (CUDA when available), cpu or cuda.
    device: str = "auto"
    score: ScoreSettings = field(default_factory=ScoreSettings)
    # false: render only (report.json has the render stats).
    run_score: bool = True
    # Ablation: a randomization family to turn off in this job (none = the full set as configured).
    ablate: str = "none"
    # Free label carried into report.json and the sweep summary.
    name: str = ""
    # Under -m: a failing job writes report.json with status "failed" and the sweep goes on (else it stops).
    keep_going: bool = False


def ablate_family(cfg: ExperimentAppConfig) -> Optional[str]:
    """The family ``cfg.ablate`` names (None for none/full); ConfigError for an unknown name."""
    from simgen.errors import ConfigError

    a = (cfg.ablate or "none").strip()
    if a.lower() in ("none", "null", "full", ""):
        return None
    if a not in FAMILIES:
        raise ConfigError(f"unknown ablate={a!r}; use none or one of {', '.join(FAMILIES)}")
    return a


def render_config(cfg: ExperimentAppConfig, dataset_dir: str) -> RenderAppConfig:
    """The RenderAppConfig of the job (``ablate`` applied: that family's ``enabled`` set to false)."""
    kw = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(RenderAppConfig)}
    kw = {k: dataclasses.replace(v) if dataclasses.is_dataclass(v) else v for k, v in kw.items()}
    rc = RenderAppConfig(**kw)
    rc.output_dir = dataset_dir
    fam = ablate_family(cfg)
    if fam is not None:
        rc.randomization = dataclasses.replace(rc.randomization)
        setattr(rc.randomization, fam, dataclasses.replace(getattr(rc.randomization, fam), enabled=False))
    return rc
