"""``simgen new-scene <mesh folder> [output=<scene.yaml>] [key=value ...]``: write a scene file for a mesh folder.

One object entry per mesh (category from the file or folder name; BOP ``models_info.json`` sets by object id or
``models_names.json``), units detected (millimetres -> scale 0.001, with a note), the camera distance range, drop
area and surface derived from the meshes' sizes. Render it with
``simgen render scene=<scene.yaml> assets.root=<mesh folder>``.

keys:
  output=<path>       scene file to write (default: ./<folder name>.yaml)
  overwrite=true      replace an existing file (otherwise refused)
  units=auto|m|cm|mm|in   units of the mesh files (default auto: millimetres when the objects are > 2 units across)
  name=<name>         the scene's name (default: the folder's name)
  fx= fy= width= height=  camera intrinsics (pixels) the distances are derived for (default 600, 600, 640x480)
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from simgen.cli.common import folder_and_keys

log = logging.getLogger("simgen")

KEYS = {"output", "overwrite", "units", "name", "fx", "fy", "width", "height"}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class _UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> tuple[Path, dict[str, str]]:
    """``<folder> key=value ...`` -> (folder, {key: value}); _UsageError with a one-line message."""
    return folder_and_keys(argv, KEYS, "mesh folder", "simgen new-scene <mesh folder> output=<scene.yaml>", _UsageError)


def _number(kv: dict[str, str], key: str, kind: type):
    if key not in kv:
        return None
    try:
        return kind(kv[key])
    except ValueError:
        raise _UsageError(f"{key}={kv[key]!r} is not a{'n integer' if kind is int else ' number'}") from None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run(argv: list[str]) -> int:
    """The command on ``argv`` (arguments after ``new-scene``) -> exit status (0 written, 2 refused)."""
    if any(a in {"-h", "--help", "help"} for a in argv):
        print(__doc__)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from simgen.errors import SimgenError
    from simgen.scene.new_scene import build_scene, scene_yaml

    try:
        folder, kv = parse_args(argv)
        overwrite = kv.get("overwrite", "false").lower()
        if overwrite not in TRUE | FALSE:
            raise _UsageError(f"overwrite={kv['overwrite']!r}; use overwrite=true or overwrite=false")
        out = Path(kv["output"]).expanduser() if kv.get("output") else Path(f"{folder.resolve().name}.yaml")
        if out.suffix not in {".yaml", ".yml"}:
            raise _UsageError(f"output={out} must end in .yaml (simgen render reads scene=<file>.yaml)")
        if out.exists() and overwrite not in TRUE:
            raise _UsageError(f"{out} already exists; pass overwrite=true to replace it or choose another output=")
        if not out.parent.exists():
            raise _UsageError(f"folder {out.parent} of output={out} does not exist; create it first")
        ns = build_scene(folder, units=kv.get("units", "auto"), name=kv.get("name") or None,
                         fx=_number(kv, "fx", float), fy=_number(kv, "fy", float),
                         width=_number(kv, "width", int), height=_number(kv, "height", int))
        _write(out, scene_yaml(ns, out))
    except _UsageError as exc:
        print(f"simgen new-scene: error: {exc}", file=sys.stderr)
        return 2
    except SimgenError as exc:
        print(f"simgen new-scene: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"simgen new-scene: error: cannot write {kv.get('output')}: {exc.strerror}; check the path and "
              f"permissions", file=sys.stderr)
        return 2
    for n in ns.notes:
        log.info("note: %s", n)
    log.info("wrote %s: %d objects (%s), assets.root=%s", out, len(ns.scene["objects"]),
             ", ".join(o["category"] for o in ns.scene["objects"][:8]) + (", ..." if len(ns.scene["objects"]) > 8
                                                                          else ""), ns.assets_root)
    log.info("render it with: simgen render scene=%s assets.root=%s", out, ns.assets_root)
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
