"""The realism table of docs/sim2real.md from the reports of `simgen experiment experiment=realism` sweeps.

    python benchmarks/sim2real_table.py <sweep dir> [<sweep dir> ...] > table.md

Each job folder's report.json gives the row (realism=...), the seed, mAP/AP50 on the real photos, FID/KID and the
render time per image; rows with several seeds are shown as mean +- standard deviation (and the seeds' values).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ORDER = ["default", "textures", "panoramas", "ibl", "allon", "pathtraced"]
NAMES = {"default": "today's default", "textures": "+ real textures", "panoramas": "+ panoramas",
         "ibl": "+ shadows/IBL", "allon": "+ textured clutter (all on)", "pathtraced": "all on, path traced"}


def _row_of(report: dict) -> tuple[str, int, int]:
    ov = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in report.get("job", {}).get("overrides", []) if "=" in o}
    return ov.get("realism", "none"), int(report.get("seed", 0)), int(report.get("n_images", 0))


def _fmt(vals: list[float], nd: int) -> str:
    vals = [v for v in vals if v is not None and not math.isnan(v)]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.{nd}f}"
    return f"{statistics.mean(vals):.{nd}f} +- {statistics.stdev(vals):.{nd}f}"


def collect(dirs: list[Path]) -> dict:
    rows: dict = defaultdict(list)
    for d in dirs:
        for rep in sorted(d.glob("*/report.json")):
            r = json.loads(rep.read_text())
            if r.get("status") != "ok":
                continue
            name, seed, n = _row_of(r)
            s = r.get("score") or {}
            rows[(name, n)].append({"seed": seed, "map": s.get("map"), "ap50": s.get("ap50"), "fid": s.get("fid"),
                                    "kid": s.get("kid"), "spi": (r.get("render") or {}).get("seconds_per_image"),
                                    "dir": rep.parent.name})
    return rows


def table(rows: dict) -> str:
    out = ["| row | images | seeds | mAP | AP50 | FID | KID | s / image (render) |", "|---|---|---|---|---|---|---|---|"]
    keys = sorted(rows, key=lambda k: (-k[1], ORDER.index(k[0]) if k[0] in ORDER else 99))
    for name, n in keys:
        runs = sorted(rows[(name, n)], key=lambda r: r["seed"])
        seeds = ",".join(str(r["seed"]) for r in runs)
        per_seed = "" if len(runs) < 2 else " (" + ", ".join(f"{r['map']:.3f}" for r in runs) + ")"
        out.append(f"| {NAMES.get(name, name)} | {n} | {seeds} | {_fmt([r['map'] for r in runs], 3)}{per_seed} | "
                   f"{_fmt([r['ap50'] for r in runs], 3)} | {_fmt([r['fid'] for r in runs], 1)} | "
                   f"{_fmt([r['kid'] for r in runs], 4)} | {_fmt([r['spi'] for r in runs], 3)} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(table(collect([Path(a) for a in sys.argv[1:]])))
