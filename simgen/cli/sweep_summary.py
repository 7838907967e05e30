"""``simgen sweep-summary <multirun dir> [--out DIR] [--no-plots]``: one table for a sweep.

Reads every job's ``report.json`` (written by ``simgen experiment``) under the folder, and writes
``summary.csv``, ``summary.md``, ``summary.json`` and plots (``map.png``, ``fid_kid.png``) into it (or ``--out``).
For an ablation sweep (``experiment=ablation`` / ``ablate=<family>``) it adds ``ablation.csv``, ``ablation.png``
and a table of delta mAP / AP50 / FID / KID / s-per-image of each family turned off vs the full set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("simgen")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simgen sweep-summary", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep_dir", type=Path, help="multirun folder (hydra.sweep.dir) or any folder of job folders")
    p.add_argument("--out", type=Path, default=None, help="where to write the summary (default: sweep_dir)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--quiet", action="store_true", help="do not print the markdown table")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    from simgen.sweep.summary import to_markdown, write_summary

    if not args.sweep_dir.is_dir():
        print(f"simgen: error: {args.sweep_dir} is not a folder; pass the sweep's folder (hydra.sweep.dir)",
              file=sys.stderr)
        sys.exit(2)
    summary = write_summary(args.sweep_dir, args.out, plots=not args.no_plots)
    if not summary["rows"]:
        print(f"simgen: error: no experiment report.json under {args.sweep_dir}; run `simgen experiment -m ...` "
              f"first (or check the folder)", file=sys.stderr)
        sys.exit(2)
    if not args.quiet:
        print(to_markdown(summary, f"Sweep summary: {args.sweep_dir}"))
    log.info("wrote %s", ", ".join(summary["files"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
