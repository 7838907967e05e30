"""report.json (strict JSON: NaN -> null) and a markdown summary report.md."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def to_jsonable(x: Any) -> Any:
    """Convert numpy scalars/arrays, Paths and NaN/inf (-> None) into plain JSON values."""
    import numpy as np

    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return None if not math.isfinite(f) else f
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented strict JSON atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def _f(x: Any, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def markdown(report: dict) -> str:
    """The markdown summary of a report dict (as written to report.json)."""
    r = report
    t = r.get("training", {})
    lines = [
        "# simgen score",
        "",
        f"Synthetic `{r.get('synthetic_dir')}` -> real `{r.get('real_dir')}`"
        + (f" (real train `{r['real_train_dir']}`)" if r.get("real_train_dir") else ""),
        "",
    ]
    if r.get("detector_trained") is False:
        lines += [
            "## No detector was trained",
            "",
            "This report (`score.detector=none`, e.g. `score=fid_only`) measures only how far the synthetic images "
            "are from the real photos (FID/KID) and where the synthetic boxes, positions, classes and brightness "
            "miss the real ones (coverage). **It has no mAP**: run `simgen score` with the default preset for a "
            f"detector score. Synthetic images: {r.get('n_synthetic_images')}; real images: "
            f"{r.get('n_test_images')} ({r.get('n_test_objects')} objects).",
            "",
        ]
        return "\n".join(lines + _distance_and_coverage(r))
    lines += [
        "## Detection on real images (pycocotools, bbox)",
        "",
        "| mAP@[.5:.95] | AP50 | AP75 | AP small | AP medium | AP large |",
        "|---|---|---|---|---|---|",
        f"| {_f(r.get('map'))} | {_f(r.get('ap50'))} | {_f(r.get('ap75'))} | {_f(r.get('ap_small'))} | "
        f"{_f(r.get('ap_medium'))} | {_f(r.get('ap_large'))} |",
        "",
        "| class | AP | AP50 | AP75 | real objects |",
        "|---|---|---|---|---|",
    ]
    for name, pc in (r.get("per_class") or {}).items():
        lines.append(f"| {name} | {_f(pc.get('ap'))} | {_f(pc.get('ap50'))} | {_f(pc.get('ap75'))} | "
                     f"{pc.get('n_gt')} |")
    lines += [
        "",
        f"Detector **{r.get('detector')}** on **{r.get('backbone')}** (weights {r.get('weights')}), protocol "
        f"**{r.get('protocol')}**, {r.get('iterations')} iterations x batch {t.get('batch_size')} at image size "
        f"{r.get('image_size')} (max {r.get('max_size')}), train time {_f(r.get('train_time_s'), 0)} s "
        f"({_f(t.get('images_per_second'), 2)} img/s) on {r.get('device')}, seed {r.get('seed')}. "
        f"Training images: {', '.join(f'{k} {v}' for k, v in (r.get('n_train_images') or {}).items())}; real test images: {r.get('n_test_images')}.",
        "",
    ]
    lines += _distance_and_coverage(r)
    return "\n".join(lines)


def _distance_and_coverage(r: dict) -> list[str]:
    """The FID/KID, coverage, plots, timing and warnings sections of report.md."""
    lines: list[str] = []
    fi = r.get("fid_info")
    if fi:
        head = fi.get("headline", "kid")
        lines += [
            "## Image-distribution distance (synthetic vs real)",
            "",
            f"**{'KID' if head == 'kid' else 'FID'}** is the headline"
            + (" (N < 2048: FID is biased upwards at this N and not comparable across N)." if head == "kid" else "."),
            "",
            "| | FID | KID (x1000) | N synthetic | N real | resolution | resize |",
            "|---|---|---|---|---|---|---|",
            f"| whole images | {_f(r.get('fid'), 2)} | {_f((r.get('kid') or float('nan')) * 1000, 2)} ± "
            f"{_f((fi.get('kid_std') or float('nan')) * 1000, 2)} | {fi.get('n_synthetic')} | {fi.get('n_real')} | "
            f"{fi.get('resolution')} | {fi.get('resize')} |",
        ]
        fc = r.get("fid_crops")
        if fc:
            lines.append(f"| object crops | {_f(fc.get('fid'), 2)} | {_f((fc.get('kid') or float('nan')) * 1000, 2)}"
                         f" ± {_f((fc.get('kid_std') or float('nan')) * 1000, 2)} | {fc.get('n_synthetic')} | "
                         f"{fc.get('n_real')} | {fc.get('resolution')} | {fc.get('resize')} |")
        lines += ["", f"Features: {fi.get('extractor')} ({fi.get('features')}-d).", ""]
    cov = r.get("coverage")
    if cov:
        lines += ["## Coverage: where the synthetic ranges miss the real data", "",
                  "Share of real values outside the synthetic 1st-99th percentile range (min-max below 100 values), largest first:", "",
                  "| quantity | real outside | below / above | synthetic p1..p99 | real min..max |",
                  "|---|---|---|---|---|"]
        for g in cov.get("gaps", [])[:12]:
            sr, rr = g["synthetic_range"], g["real_range"]
            lines.append(f"| {g['quantity']} | {100 * g['real_outside']:.0f}% | {100 * g['real_below']:.0f}% / "
                         f"{100 * g['real_above']:.0f}% | {_f(sr[0])}..{_f(sr[1])} | {_f(rr[0])}..{_f(rr[1])} |")
        lines.append("")
    plots = r.get("plots") or []
    if plots:
        lines += ["## Plots", ""]
        for p in plots:
            lines += [f"![{Path(p).stem}]({p})", ""]
    if r.get("warnings"):
        lines += ["## Warnings", ""] + [f"- {w}" for w in r["warnings"]] + [""]
    timing = r.get("timing") or {}
    if timing:
        lines += ["## Time per phase", "", "CPU = all threads of the scoring process (`time.process_time`).", "",
                  "| phase | wall s | CPU s |", "|---|---|---|"]
        lines += [f"| {k} | {v.get('wall_s', 0):.1f} | {v.get('cpu_s', 0):.1f} |" for k, v in timing.items()]
        lines.append("")
    return lines


def write_report(output_dir: Path, report: dict) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    jp, mp = output_dir / "report.json", output_dir / "report.md"
    write_json(jp, report)
    tmp = mp.with_name(mp.name + ".tmp")
    tmp.write_text(markdown(to_jsonable(report)))
    os.replace(tmp, mp)
    return jp, mp
