"""``simgen experiment [key=value ...]``: render a synthetic set and score it against real photos, in one job.

Same keys as ``simgen render`` (scene, n_images, seed, randomization/*, render.*, workers, executor, ...) plus
``real_dir``, the ``score`` node of ``simgen score`` (``score=quick|default``, ``score.<key>=...``), ``ablate`` and
``name``. Each job writes ``synthetic/``, ``score/`` and ``report.json`` into its Hydra job folder, so Hydra
multirun sweeps it::

    simgen experiment -m randomization/lighting=off,moderate,strong real_dir=../shared/real/ycbv_dev score=quick
    simgen experiment experiment=ablation real_dir=...        # full set + one run per randomization family off
    simgen sweep-summary multirun/<date>                      # table + plots (+ deltas for an ablation)

Parallel jobs: ``hydra/launcher=joblib hydra.launcher.n_jobs=2``; Slurm: ``hydra/launcher=slurm`` (conf/hydra/
launcher/slurm.yaml, needs hydra-submitit-launcher).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from simgen.cli.common import report_errors
from simgen.cli.configs import register_all
from simgen.paths import conf_dir

log = logging.getLogger("simgen")

CONFIG_NAME = "experiment"


def _job_facts() -> tuple[Path | None, dict]:
    """(Hydra's job dir, facts for the report) — (None, {}) outside a Hydra app."""
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return None, {}
    choices = {k: v for k, v in OmegaConf.to_container(hc.runtime.choices).items()
               if not k.startswith("hydra/") and k not in ("experiment_schema",)}
    facts = {"num": hc.job.get("num"), "overrides": list(hc.overrides.task), "choices": choices,
             "mode": str(hc.mode).rsplit(".", 1)[-1], "launcher": str(hc.runtime.choices.get("hydra/launcher"))}
    return Path(hc.runtime.output_dir), facts


def _share_cores_between_parallel_jobs() -> None:
    """joblib launcher with n_jobs=N on C cores: give each job C // N torch and llvmpipe threads (unless set)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        n_jobs = int(HydraConfig.get().launcher.get("n_jobs") or 1)
    except (ValueError, TypeError, AttributeError):  # not under a Hydra launcher with n_jobs
        return
    from simgen.launch.local import available_cores

    cores = available_cores()
    if n_jobs < 0:
        n_jobs = cores
    if n_jobs <= 1:
        return
    per = str(max(1, cores // n_jobs))
    os.environ.setdefault("LP_NUM_THREADS", per)
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = per
        try:
            import torch

            torch.set_num_threads(int(per))
        except ImportError:
            pass


def _file_log(job_dir: Path) -> logging.Handler:
    job_dir.mkdir(parents=True, exist_ok=True)
    h = logging.FileHandler(job_dir / "experiment.log")
    h.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger().addHandler(h)
    return h


@report_errors
def run(cfg: DictConfig) -> dict:
    from simgen.sweep.experiment import record_failure, run_experiment

    ecfg = OmegaConf.to_object(cfg)
    hydra_dir, facts = _job_facts()
    job_dir = Path(ecfg.output_dir) if ecfg.output_dir else hydra_dir
    if job_dir is None:
        from simgen.errors import ConfigError

        raise ConfigError("output_dir is not set; pass output_dir=<job folder>")
    _share_cores_between_parallel_jobs()
    handler = _file_log(job_dir)
    try:
        return run_experiment(ecfg, job_dir, job=facts)
    except Exception as exc:
        record_failure(job_dir, exc)
        if ecfg.keep_going and facts.get("mode") == "MULTIRUN":
            log.error("job %s failed (%s); keep_going=true, the sweep goes on", job_dir, exc)
            return {"status": "failed"}
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def job_dir_name(num, override_dirname: str = "", max_len: int = 100) -> str:
    """``<num>_<override_dirname>`` as one safe folder name: ``/`` -> ``-`` (config groups such as
    ``randomization/lighting=off`` would nest folders) and at most ``max_len`` characters (long override lists
    would exceed the filesystem's 255), the cut part replaced by a short hash so names stay unique."""
    import hashlib

    name = str(override_dirname or "").replace("/", "-").replace("\\", "-")
    if len(name) > max_len:
        name = name[:max_len - 9] + "~" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{num}_{name}" if name else str(num)


def ablation_values() -> str:
    """``none`` + every registered randomization family: the values the ablation sweep runs."""
    from simgen.sweep.schema import FAMILIES

    return ",".join(("none",) + FAMILIES)


if not OmegaConf.has_resolver("simgen_job_dir"):
    OmegaConf.register_new_resolver("simgen_job_dir", job_dir_name)
if not OmegaConf.has_resolver("simgen_ablation"):
    OmegaConf.register_new_resolver("simgen_ablation", ablation_values)
register_all()


@hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
