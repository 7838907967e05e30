"""Sweep summaries: collect the ``report.json`` of every job of a multirun into one table, ablation deltas, plots.

Pure parts (``collect_reports`` reads files; ``summarize`` and the formatters are pure) are separate from the
writers (``write_summary``) and from plotting (matplotlib, optional).

Ablation: rows with ``ablate`` = a family are compared with the row(s) of the full set (``ablate`` none) that
share every other swept setting; ``delta = (family off) - (full set)``. A family *earns its cost* when turning it
off lowers mAP (delta mAP < 0); delta FID/KID > 0 means the synthetic images moved away from the real ones
without it; delta s/img < 0 is the render time it costs.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any, Iterable, Optional

log = logging.getLogger(__name__)

METRICS = ("map", "ap50", "fid", "kid", "s_per_img")
METRIC_LABEL = {"map": "mAP", "ap50": "AP50", "fid": "FID", "kid": "KID", "s_per_img": "s/img"}
# override keys that are not settings of the experiment (paths, bookkeeping)
_IGNORED_KEYS = ("hydra", "output_dir", "real_dir", "real_train_dir", "keep_going", "overwrite", "assets.root")


def _is_ignored(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") or key.startswith(k + "/") for k in _IGNORED_KEYS)


def parse_overrides(overrides: Iterable[str]) -> dict[str, str]:
    """``["a=1", "+b=x", "~c"] -> {"a": "1", "b": "x"}`` (deletions and flags are skipped)."""
    out = {}
    for o in overrides:
        if "=" not in o or o.startswith("~"):
            continue
        k, v = o.split("=", 1)
        out[k.lstrip("+")] = v
    return out


def _load_overrides(job_dir: Path, report: dict) -> list[str]:
    ov = (report.get("job") or {}).get("overrides")
    if ov is not None:
        return list(ov)
    p = job_dir / ".hydra" / "overrides.yaml"
    if p.is_file():
        import yaml

        return list(yaml.safe_load(p.read_text()) or [])
    return []


def collect_reports(root: str | Path) -> list[dict]:
    """Every experiment ``report.json`` under ``root`` (its job folders), as rows sorted by job number/path.

    A row: ``job`` (folder relative to root), ``status``, ``overrides`` (dict), ``ablate``, metrics
    (``map``, ``ap50``, ``fid``, ``kid``, ``s_per_img``, ``images``), ``error``.
    """
    from simgen.sweep.experiment import REPORT_KIND

    root = Path(root)
    rows = []
    for p in sorted(root.rglob("report.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            log.warning("skipping unreadable %s", p)
            continue
        if not isinstance(r, dict) or r.get("kind") != REPORT_KIND:
            continue  # e.g. score/report.json of a job
        job_dir = p.parent
        s = r.get("score") or {}
        rend = r.get("render") or {}
        rows.append({
            "job": str(job_dir.relative_to(root)) if job_dir != root else ".",
            "num": (r.get("job") or {}).get("num"),
            "status": r.get("status", "?"),
            "name": r.get("name") or "",
            "overrides": parse_overrides(_load_overrides(job_dir, r)),
            "ablate": r.get("ablate"),
            "images": rend.get("images"),
            "map": s.get("map"), "ap50": s.get("ap50"), "fid": s.get("fid"), "kid": s.get("kid"),
            "headline_distance": s.get("headline_distance"),
            "s_per_img": rend.get("seconds_per_image"),
            "error": r.get("error"),
        })
    rows.sort(key=lambda x: (x["num"] if isinstance(x["num"], int) else 10 ** 9, x["job"]))
    return rows


def varying_keys(rows: list[dict]) -> list[str]:
    """Override keys whose value differs between rows (or is missing in some), in first-seen order."""
    keys: list[str] = []
    for r in rows:
        for k in r["overrides"]:
            if k not in keys and not _is_ignored(k):
                keys.append(k)
    return [k for k in keys if len({r["overrides"].get(k) for r in rows}) > 1]


def setting_label(row: dict, keys: list[str]) -> str:
    parts = [f"{k}={row['overrides'][k]}" for k in keys if k in row["overrides"]]
    return " ".join(parts) or row["name"] or row["job"]


def _num(v: Any) -> Optional[float]:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def ablation_deltas(rows: list[dict], keys: list[str]) -> list[dict]:
    """One row per ablated job: the family, its metrics and ``d_<metric>`` vs the matching full-set job.

    Matching: same value of every swept key except ``ablate``. Jobs without a full-set partner get no deltas.
    """
    other = [k for k in keys if k != "ablate"]

    def group(r: dict) -> tuple:
        return tuple(r["overrides"].get(k) for k in other)

    base = {}
    for r in rows:
        if r["status"] == "ok" and not r.get("ablate"):
            base.setdefault(group(r), r)
    out = []
    for r in rows:
        if not r.get("ablate"):
            continue
        b = base.get(group(r))
        setting = " ".join(f"{k}={r['overrides'][k]}" for k in other if k in r["overrides"])
        d = {"family": r["ablate"], "job": r["job"], "setting": setting, "status": r["status"],
             "baseline_job": b["job"] if b else None}
        for m in METRICS:
            d[m] = r.get(m)
            v, bv = _num(r.get(m)), _num(b.get(m)) if b else None
            d["d_" + m] = (v - bv) if v is not None and bv is not None else None
        out.append(d)
    return out


def verdict(d: dict) -> str:
    """Plain words for one ablation row (sign convention: delta = family off - full set)."""
    dm = d.get("d_map")
    if dm is None:
        return "no score"
    words = ("helps mAP" if dm < 0 else "no mAP gain" if dm == 0 else "hurts mAP") + f" ({-dm:+.3f} with it)"
    dfid = d.get("d_fid")
    if dfid is not None:
        words += "; closer to real" if dfid > 0 else "; further from real"
    return words


def summarize(rows: list[dict]) -> dict:
    """Table rows (with ``setting``), the swept keys and the ablation deltas (empty without ``ablate``)."""
    keys = varying_keys(rows)
    table = [{**r, "setting": setting_label(r, keys)} for r in rows]
    has_ablation = any(r.get("ablate") for r in rows)
    if has_ablation and "ablate" not in keys:
        keys = keys + ["ablate"]
    deltas = ablation_deltas(rows, keys) if has_ablation else []
    return {"keys": keys, "rows": table, "ablation": deltas}


# ---------------------------------------------------------------------- formatting

def _fmt(v: Any, m: str = "") -> str:
    f = _num(v)
    if f is None:
        return "" if v is None else str(v)
    if m in ("fid", "d_fid"):
        return f"{f:.2f}"
    if m in ("kid", "d_kid"):
        return f"{f:.4f}"
    if m in ("s_per_img", "d_s_per_img"):
        return f"{f:.3f}"
    return f"{f:.4f}" if m.startswith("d_") else f"{f:.3f}"


def to_csv(summary: dict) -> str:
    keys = summary["keys"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["job", "status", *keys, "images", *METRICS, "error"])
    for r in summary["rows"]:
        w.writerow([r["job"], r["status"], *[r["overrides"].get(k, "") for k in keys], r.get("images") or "",
                    *["" if _num(r.get(m)) is None else repr(_num(r.get(m))) for m in METRICS], r.get("error") or ""])
    return buf.getvalue()


def ablation_csv(summary: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ["family", "setting", "job", "baseline_job", *METRICS, *["d_" + m for m in METRICS]]
    w.writerow(cols)
    for d in summary["ablation"]:
        w.writerow(["" if d.get(c) is None else (repr(d[c]) if isinstance(d[c], float) else d[c]) for c in cols])
    return buf.getvalue()


def to_markdown(summary: dict, title: str = "Sweep summary") -> str:
    keys = summary["keys"]
    lines = [f"# {title}", "", f"{len(summary['rows'])} job(s); swept: {', '.join(keys) or '(nothing)'}.", ""]
    head = ["job", "status", *keys, "images", *[METRIC_LABEL[m] for m in METRICS]]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary["rows"]:
        # the job number (its folder, named after all its overrides, is in summary.csv); the folder otherwise
        job = str(r["num"]) if isinstance(r.get("num"), int) else r["job"]
        cells = [job, r["status"], *[r["overrides"].get(k, "") for k in keys], str(r.get("images") or ""),
                 *[_fmt(r.get(m), m) for m in METRICS]]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in summary["rows"] if r["status"] != "ok"]
    if failed:
        lines += ["", "Not finished:"] + [f"- {r['job']}: {r['status']} {r.get('error') or ''}".rstrip()
                                          for r in failed]
    if summary["ablation"]:
        lines += ["", "## Ablation: each randomization family off vs the full set", "",
                  "delta = (family off) - (full set). delta mAP < 0: the family helps the detector; delta FID/KID "
                  "> 0: without it the synthetic images are further from the real ones; delta s/img < 0: the "
                  "render time the family costs.", ""]
        head = ["family", *(["setting"] if any(d["setting"] for d in summary["ablation"]) else []),
                *[f"Δ {METRIC_LABEL[m]}" for m in METRICS], "mAP (off)", "verdict"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for d in sorted(summary["ablation"], key=lambda d: (d["setting"], _num(d.get("d_map")) or 0.0)):
            cells = [d["family"], *([d["setting"]] if "setting" in head else []),
                     *[_fmt(d.get("d_" + m), "d_" + m) for m in METRICS], _fmt(d.get("map"), "map"), verdict(d)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- plots

def plot_summary(summary: dict, out_dir: Path) -> list[Path]:
    """Bar charts: summary.png (mAP and KID per run), map.png (mAP/AP50), fid_kid.png, ablation.png (deltas). [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed; no plots (pip install matplotlib)")
        return []
    rows = [r for r in summary["rows"] if r["status"] == "ok"]
    paths: list[Path] = []
    labels = [r["setting"] for r in rows]
    h = max(2.5, 0.35 * len(rows) + 1.2)

    def barh(ax, values, title, fmt):
        y = list(range(len(values)))
        vals = [_num(v) if _num(v) is not None else 0.0 for v in values]
        ax.barh(y, vals, color="#4878a8")
        ax.set_yticks(y)
        ax.set_yticklabels(labels if len(labels) == len(values) else [str(i) for i in y], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title)
        for yi, v, raw in zip(y, vals, values):
            ax.text(v, yi, " " + ("n/a" if _num(raw) is None else fmt.format(v)), va="center", fontsize=7)

    if rows and any(_num(r.get("map")) is not None for r in rows):
        fig, axes = plt.subplots(1, 2, figsize=(11, h), sharey=True)
        barh(axes[0], [r.get("map") for r in rows], "mAP@[.5:.95] (real test set)", "{:.3f}")
        barh(axes[1], [r.get("ap50") for r in rows], "AP50", "{:.3f}")
        fig.tight_layout()
        paths.append(out_dir / "map.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    if rows and any(_num(r.get("fid")) is not None for r in rows):
        fig, axes = plt.subplots(1, 2, figsize=(11, h), sharey=True)
        barh(axes[0], [r.get("fid") for r in rows], "FID (synthetic vs real; lower = closer)", "{:.1f}")
        barh(axes[1], [r.get("kid") for r in rows], "KID", "{:.4f}")
        fig.tight_layout()
        paths.append(out_dir / "fid_kid.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    if rows and any(_num(r.get(m)) is not None for r in rows for m in ("map", "kid")):
        # the overview: detection quality on real photos next to distribution distance, one bar per run
        fig, axes = plt.subplots(1, 2, figsize=(11, h), sharey=True)
        barh(axes[0], [r.get("map") for r in rows], "mAP@[.5:.95] (real test set; higher = better)", "{:.3f}")
        barh(axes[1], [r.get("kid") for r in rows], "KID (synthetic vs real; lower = closer)", "{:.4f}")
        fig.tight_layout()
        paths.append(out_dir / "summary.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    abl = [d for d in summary["ablation"] if d.get("d_map") is not None or d.get("d_fid") is not None]
    if abl:
        fams = [d["family"] + (f" [{d['setting']}]" if d["setting"] else "") for d in abl]
        fig, axes = plt.subplots(1, 3, figsize=(14, max(2.5, 0.35 * len(abl) + 1.2)), sharey=True)
        for ax, m, title in zip(axes, ("map", "fid", "s_per_img"),
                                ("Δ mAP (off - full; < 0: family helps)", "Δ FID (off - full)",
                                 "Δ s/img (off - full; < 0: its cost)")):
            vals = [_num(d.get("d_" + m)) or 0.0 for d in abl]
            y = list(range(len(abl)))
            ax.barh(y, vals, color=["#b04a4a" if v < 0 else "#4a8a5a" for v in vals])
            ax.axvline(0, color="k", lw=0.8)
            ax.set_yticks(y)
            ax.set_yticklabels(fams, fontsize=8)
            ax.invert_yaxis()
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        paths.append(out_dir / "ablation.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def write_summary(root: str | Path, out_dir: Optional[str | Path] = None, plots: bool = True) -> dict:
    """Collect, summarize and write ``summary.{csv,md,json}`` (+ ``ablation.csv``, plots) into ``out_dir``
    (default: ``root``). Returns the summary (with ``files``)."""
    from simgen.export import atomic

    root = Path(root)
    out = Path(out_dir) if out_dir is not None else root
    out.mkdir(parents=True, exist_ok=True)
    rows = collect_reports(root)
    summary = summarize(rows)
    files = [out / "summary.csv", out / "summary.md", out / "summary.json"]
    atomic.write_bytes(files[0], to_csv(summary).encode())
    atomic.write_bytes(files[1], to_markdown(summary, f"Sweep summary: {root}").encode())
    if summary["ablation"]:
        files.append(out / "ablation.csv")
        atomic.write_bytes(files[-1], ablation_csv(summary).encode())
    if plots:
        files += plot_summary(summary, out)
    summary["files"] = [str(p) for p in files]
    atomic.write_bytes(files[2], json.dumps(summary, indent=2, default=str).encode())
    return summary
