"""Two realism rows compared seed by seed: paired differences and a picture of them.

    python benchmarks/seed_pairs.py --a default+long --b ycbv <sweep dir> [<sweep dir> ...] \
        [--add default+long:0:0.584:90:19:0.2299 ...] [--out docs/gallery/seeds_ycbv.png]

Rows are named as in `benchmarks/sim2real_table.py` (realism=..., +name=...). The same seed of two rows renders other
images and trains another detector, but both see the same dev photos: the difference per seed and its mean, with a 95%
t-interval over seeds, says more than two means with their spreads. `--add ROW:SEED:MAP:FP:FP90:KID` adds a run whose
job folder is gone (numbers as recorded; `-` where not recorded).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sim2real_table import NAMES, _fmt, collect  # noqa: E402

METRICS = [("map", "mAP", 3), ("fp", "clutter FP", 0), ("fp90", "clutter FP @ R90", 0), ("kid", "KID", 4)]


def _num(s: str) -> float | None:
    return None if s in ("-", "") else float(s)


def runs_by_seed(dirs: list[Path], added: list[str]) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for (name, _n), runs in collect(dirs).items():
        for r in runs:
            out.setdefault(name, {})[r["seed"]] = r
    for a in added:
        name, seed, m, fp, fp90, kid = a.split(":")
        out.setdefault(name, {})[int(seed)] = {"map": _num(m), "fp": _num(fp), "fp90": _num(fp90), "kid": _num(kid),
                                               "recorded": True}
    return out


def paired(a: dict[int, dict], b: dict[int, dict], key: str) -> tuple[list[int], list[float]]:
    seeds = sorted(s for s in set(a) & set(b) if a[s].get(key) is not None and b[s].get(key) is not None)
    return seeds, [b[s][key] - a[s][key] for s in seeds]


def summary(a: dict[int, dict], b: dict[int, dict], name_a: str, name_b: str) -> str:
    from scipy.stats import t

    lines = [f"| | A: {name_a} | B: {name_b} | difference per seed (B - A) | mean difference, 95% t-interval |",
             "|---|---|---|---|---|"]
    for key, label, nd in METRICS:
        seeds, diffs = paired(a, b, key)
        if not seeds:
            continue
        mean = statistics.mean(diffs)
        half = (t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
                if len(diffs) > 1 else float("nan"))
        lines.append(f"| {label} (seeds {','.join(map(str, seeds))}) | {_fmt([a[s][key] for s in seeds], nd)} | "
                     f"{_fmt([b[s][key] for s in seeds], nd)} | {', '.join(f'{d:+.{nd}f}' for d in diffs)} | "
                     f"{mean:+.{nd}f} [{mean - half:+.{nd}f}, {mean + half:+.{nd}f}] |")
    return "\n".join(lines)


def plot(a: dict[int, dict], b: dict[int, dict], name_a: str, name_b: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [(k, lab) for k, lab, _ in METRICS if paired(a, b, k)[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], keys):
        seeds, _ = paired(a, b, key)
        for s in seeds:
            ax.plot([0, 1], [a[s][key], b[s][key]], "-o", color="0.6", lw=1, ms=4)
            ax.annotate(f"{s}", (1.04, b[s][key]), fontsize=7, va="center", color="0.4")
        ma, mb = statistics.mean(a[s][key] for s in seeds), statistics.mean(b[s][key] for s in seeds)
        ax.plot([0, 1], [ma, mb], "-s", color="C3", lw=2.5, ms=7, label="mean")
        ax.set_xticks([0, 1], [textwrap.fill(name_a, 18), textwrap.fill(name_b, 18)], fontsize=8)
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(label, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("paired by seed (grey: one seed each, red: mean)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="sweep folders (as for sim2real_table.py)")
    ap.add_argument("--a", required=True, help="the reference row, e.g. default+long")
    ap.add_argument("--b", required=True, help="the row compared with it, e.g. ycbv")
    ap.add_argument("--add", action="append", default=[], help="ROW:SEED:MAP:FP:FP90:KID of a run whose folder is gone")
    ap.add_argument("--out", type=Path, help="write the paired plot here (.png)")
    args = ap.parse_args()
    rows = runs_by_seed(args.dirs, args.add)
    for r in (args.a, args.b):
        if r not in rows:
            sys.exit(f"seed_pairs: no runs of row {r!r} in {[str(d) for d in args.dirs]} (rows found: {sorted(rows)})")
    short = lambda r: NAMES.get(r, r).split(" (")[0].replace(", 1200 iterations", "")  # noqa: E731
    name_a, name_b = short(args.a), short(args.b)
    print(summary(rows[args.a], rows[args.b], name_a, name_b))
    if args.out:
        plot(rows[args.a], rows[args.b], name_a, name_b, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
