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
    "new-scene": ("simgen.cli.new_scene", "Write a scene file for a folder of meshes (OBJ/PLY/GLB/STL, BOP sets)"),
    "view": ("simgen.cli.view", "Open a rendered dataset in the FiftyOne app (needs the [fiftyone] extra)"),
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
    config_name = getattr(module, "CONFIG_NAME", None)
    if config_name is not None:
        from simgen.cli.overrides import lift_dict_overrides

        rest = lift_dict_overrides(rest)
        precheck_overrides(config_name, rest)
    # Hydra reads sys.argv: present it as if `simgen-<cmd>` had been called.
    sys.argv = [f"simgen {cmd}"] + rest
    module.main()


def _first_line(exc: BaseException) -> str:
    msgs = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return msgs[0] if msgs else type(exc).__name__


def precheck_overrides(config_name: str, args: list[str]) -> None:
    """Compose the config once before Hydra runs, so a bad override fails with one clear line (exit 2).

    Skipped for multirun (-m), help and other Hydra flags (Hydra reports those itself).
    """
    if any(a.startswith("-") for a in args):
        return
    overrides = [a for a in args if not a.startswith("hydra.") and not a.startswith("hydra/")
                 and not a.startswith("+hydra") and "=" in a]
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from simgen.paths import conf_dir

    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
            OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except Exception as exc:  # ConfigCompositionException, OmegaConf errors, MissingConfigException
        cause = exc.__cause__ or exc
        msg = _first_line(cause)
        full_key = getattr(cause, "full_key", None)
        if "not in" in msg or "Could not override" in _first_line(exc) and "not in" in str(cause):
            key = full_key or msg
            print(f"simgen: error: unknown config key {key!r}; check its spelling (see `simgen "
                  f"{config_name} --cfg job` for all keys)", file=sys.stderr)
        elif "could not be converted" in msg or "Value '" in msg:
            print(f"simgen: error: bad value for {full_key!r}: {msg}; give a value of the right type",
                  file=sys.stderr)
        elif "Could not find" in msg or "Could not load" in msg or "not found" in msg.lower():
            print(f"simgen: error: {msg}; check the option name (see `simgen {config_name} --help`)",
                  file=sys.stderr)
        else:
            print(f"simgen: error: invalid configuration: {msg}", file=sys.stderr)
        sys.exit(2)
    finally:
        GlobalHydra.instance().clear()


if __name__ == "__main__":
    main()
