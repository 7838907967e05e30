"""Experiments and sweeps: render + score in one job (``simgen experiment``), ablations, sweep summaries.

``run_experiment(cfg, job_dir)`` is the library entry (plain dataclasses, no Hydra); ``collect``/``summarize``
turn a multirun folder of ``report.json`` files into tables, deltas and plots (``simgen sweep-summary``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExperimentAppConfig", "run_experiment", "collect_reports", "summarize", "write_summary",
           "FAMILIES", "REPORT_KIND"]

_LAZY = {
    "ExperimentAppConfig": "simgen.sweep.schema",
    "FAMILIES": "simgen.sweep.schema",
    "run_experiment": "simgen.sweep.experiment",
    "REPORT_KIND": "simgen.sweep.experiment",
    "collect_reports": "simgen.sweep.summary",
    "summarize": "simgen.sweep.summary",
    "write_summary": "simgen.sweep.summary",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simgen.sweep' has no attribute {name!r}")
