"""The realism table of docs/sim2real.md from the reports of `simgen experiment experiment=realism` sweeps.

    python benchmarks/sim2real_table.py <sweep dir> [<sweep dir> ...] > table.md

Each job folder's report.json gives the row (realism=...), the seed, mAP/AP50 on the real photos, FID/KID and the
render time per image; rows with several seeds are shown as mean +- standard deviation (and the seeds' values).
"clutter FP" counts the confident detections (score >= 0.5) on the real photos that overlap no labelled object at
all (IoU < 0.1 with every ground-truth box of any class): detections on the keyboard, the cable, the unlabelled can.
That count moves with how confident a detector is on the real photos; "clutter FP @ R90" counts the same clutter
detections at the score threshold where the detector first finds 90% of the labelled objects (class-aware, IoU >= 0.5,
greedy by score as in COCO): at equal recall, so detectors of different confidence compare ("-" where it never does).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ORDER = ["default", "procedural", "textures", "panoramas", "ibl", "allon", "allon+uvfix", "allon+main", "allon+sharp",
         "allon+weather", "allon+views", "allon+print", "pathtraced", "default+long", "allon+printlong",
         "allon+views@1200", "ycbv", "ycbv+nosharp"]
NAMES = {"default": "today's default", "procedural": "today's default, weather off",
         "textures": "+ real textures", "panoramas": "+ panoramas",
         "ibl": "+ shadows/IBL", "allon": "+ textured clutter (all on)",
         "allon+uvfix": "all on + 3 YCB atlases un-rotated",
         "allon+main": "all on + all 5 YCB atlases repaired (main)",
         "allon+views": "all on + sharpening + low views (elevation 15-50, not kept)",
         "allon+sharp": "all on + camera sharpening, read noise 0-4 (not default)",
         "allon+weather": "all on + sharpening + weather family", "pathtraced": "all on, path traced",
         "allon+print": "all on + printed-packaging clutter (print_bank 16)",
         "default+long": "today's default, 1200 iterations",
         "allon+printlong": "all on + printed-packaging clutter, 1200 iterations",
         # name=views again, at 1200 iterations: print clutter, elevation 25-60, upright 0.9, read noise 0-4 (the
         # sharpening given with it was lost to the multirun override bug fixed in dbcdca2)
         "allon+views@1200": "all on + print clutter + views 25-60, upright 0.9, 1200 iterations",
         "ycbv": "all on, seen like YCB-Video (conf/realism/ycbv.yaml), 1200 iterations",
         "ycbv+nosharp": "ycbv without the camera's sharpening, 1200 iterations"}
# rows whose name depends on the count: the raster row of 300 beside the path-traced one runs on main's code
NAMES_N = {("allon", 300): "all on (main), raster"}


def _row_of(report: dict) -> tuple[str, int, int]:
    ov = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in report.get("job", {}).get("overrides", []) if "=" in o}
    row = ov.get("realism", "none") + (f"+{report['name']}" if report.get("name") else "")  # name= tells variants
    # a variant name used again at another training length is another row
    its = int((report.get("score") or {}).get("iterations") or 0)
    if f"{row}@{its}" in NAMES:
        row = f"{row}@{its}"
    return row, int(report.get("seed", 0)), int(report.get("n_images", 0))


def _fmt(vals: list[float], nd: int) -> str:
    vals = [v for v in vals if v is not None and not math.isnan(v)]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.{nd}f}"
    return f"{statistics.mean(vals):.{nd}f} +- {statistics.stdev(vals):.{nd}f}"


def _iou(a: list[float], b: list[float]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0.0, min(ax2, bx2) - max(a[0], b[0])), max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def clutter_false_positives(score_dir: Path, real_dir: Path, threshold: float = 0.5) -> int | None:
    """Detections with score >= threshold that overlap no ground-truth box (IoU < 0.1 with all of them)."""
    det_file, gt_file = score_dir / "detections.json", real_dir / "annotations.json"
    if not det_file.is_file() or not gt_file.is_file():
        return None
    gts: dict = defaultdict(list)
    for a in json.loads(gt_file.read_text())["annotations"]:
        gts[a["image_id"]].append(a["bbox"])
    dets = json.loads(det_file.read_text())
    return sum(1 for d in dets if d["score"] >= threshold and all(_iou(d["bbox"], g) < 0.1 for g in gts[d["image_id"]]))


def clutter_false_positives_at_recall(score_dir: Path, real_dir: Path, recall: float = 0.9) -> int | None:
    """Clutter detections (as above) scoring at least the threshold where recall first reaches ``recall``."""
    det_file, gt_file = score_dir / "detections.json", real_dir / "annotations.json"
    if not det_file.is_file() or not gt_file.is_file():
        return None
    gts: dict = defaultdict(list)
    for a in json.loads(gt_file.read_text())["annotations"]:
        gts[a["image_id"]].append((a["category_id"], a["bbox"]))
    n_gt = sum(len(g) for g in gts.values())
    dets = sorted(json.loads(det_file.read_text()), key=lambda d: -d["score"])
    used: set = set()
    threshold = None
    for d in dets:
        cands = [(_iou(d["bbox"], b), j) for j, (c, b) in enumerate(gts[d["image_id"]])
                 if c == d["category_id"] and (d["image_id"], j) not in used]
        best = max(cands, default=(0.0, -1))
        if best[0] >= 0.5:
            used.add((d["image_id"], best[1]))
            if len(used) >= recall * n_gt:
                threshold = d["score"]
                break
    if threshold is None:
        return None
    return sum(1 for d in dets if d["score"] >= threshold
               and all(_iou(d["bbox"], b) < 0.1 for _, b in gts[d["image_id"]]))


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
                                    "dir": rep.parent.name, "fp": clutter_false_positives(
                                        rep.parent / "score", Path(r.get("real_dir") or "")),
                                    "fp90": clutter_false_positives_at_recall(
                                        rep.parent / "score", Path(r.get("real_dir") or ""))})
    return rows


def table(rows: dict) -> str:
    out = ["| row | images | seeds | mAP | AP50 | clutter FP | clutter FP @ R90 | FID | KID | s / image (render) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted(rows, key=lambda k: (-k[1], ORDER.index(k[0]) if k[0] in ORDER else 99))
    for name, n in keys:
        runs = sorted(rows[(name, n)], key=lambda r: r["seed"])
        seeds = ",".join(str(r["seed"]) for r in runs)
        per_seed = "" if len(runs) < 2 else " (" + ", ".join(f"{r['map']:.3f}" for r in runs) + ")"
        label = NAMES_N.get((name, n), NAMES.get(name, name))
        out.append(f"| {label} | {n} | {seeds} | {_fmt([r['map'] for r in runs], 3)}{per_seed} | "
                   f"{_fmt([r['ap50'] for r in runs], 3)} | {_fmt([r['fp'] for r in runs], 0)} | "
                   f"{_fmt([r['fp90'] for r in runs], 0)} | "
                   f"{_fmt([r['fid'] for r in runs], 1)} | "
                   f"{_fmt([r['kid'] for r in runs], 4)} | {_fmt([r['spi'] for r in runs], 3)} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(table(collect([Path(a) for a in sys.argv[1:]])))
