"""``simgen <command> [hydra overrides...]``: dispatch to one Hydra app per command.

Each command is its own Hydra application (own primary config in ``conf/``), so ``-m`` multirun, ``--cfg job``
and ``--help`` work per command.
"""

from __future__ import annotations

import importlib
import sys

# command -> "module:function" (each function is a @hydra.main app, or a plain argv-taking function)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("simgen.cli.render", "Render a labelled COCO dataset from a scene description"),
    "score": ("simgen.cli.score", "Train a detector on synthetic data, score it on real photos (mAP, FID/KID)"),
    "gallery": ("simgen.cli.gallery", "One contact sheet per randomization family at off/moderate/strong"),
    "experiment": ("simgen.cli.experiment", "Render + score in one job (use with -m for Hydra sweeps)"),
    "sweep-summary": ("simgen.cli.sweep_summary", "Collect report.json of a multirun into a table and plots"),
    "export-yolo": ("simgen.cli.export_yolo", "Convert a simgen COCO dataset to the YOLO (ultralytics) layout"),
}


def _usage() -> str:
    lines = ["usage: simgen <command> [key=value ...]", "", "commands:"]
    for name, (_, help_) in COMMANDS.items():
        lines.append(f"  {name:<14} {help_}")
    lines += ["", "Run `simgen <command> --help` for the command's options (Hydra)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        sys.exit(0 if argv else 2)
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"simgen: error: unknown command {cmd!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        sys.exit(2)
    module_name = COMMANDS[cmd][0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # e.g. scoring without the [eval] extra
        print(f"simgen: error: command {cmd!r} needs a missing package ({exc}); "
              f"install it with: pip install 'simgen[eval]'", file=sys.stderr)
        sys.exit(2)
    # Hydra reads sys.argv: present it as if `simgen-<cmd>` had been called.
    sys.argv = [f"simgen {cmd}"] + rest
    module.main()


if __name__ == "__main__":
    main()
