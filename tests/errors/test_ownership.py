"""Never lose a user's file: every case runs `simgen render` in a fresh process and checks the exit code, one
line on stderr without a traceback, and the sha256 of every file that existed before (in the output folder, its
parent and the working folder) after the run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gl, pytest.mark.slow]

TINY = ["n_images=3", "shard_size=2", "render.width=64", "render.height=48", "export.preview=false"]


def _hash_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".simgen" not in p.parts}


def _render(args: list[str], cwd: Path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", "render", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240, env={**os.environ, **(env or {})})


def _one_line(res, *needles: str) -> None:
    err = res.stderr.strip().splitlines()
    last = err[-1] if err else ""
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert last.startswith("simgen: error: "), last
    for n in needles:
        assert n in last, (n, last)


def _user_files(folder: Path) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "holiday.jpg").write_bytes(b"\xff\xd8 a user's photo")
    (folder / "depth").mkdir(parents=True, exist_ok=True)
    (folder / "depth" / "scan.png").write_bytes(b"a user's depth scan")
    (folder / "notes.txt").write_text("a user's notes")


CASES = {
    # name: (set-up(tmp) -> output_dir arg, extra args, expected exit, stderr needles)
    "foreign folder": (lambda t: (_user_files(t / "o"), str(t / "o"))[1], [], 2, ["files simgen did not make",
                                                                              "allow_existing_files=true"]),
    "foreign folder + overwrite": (lambda t: (_user_files(t / "o"), str(t / "o"))[1], ["overwrite=true"], 2,
                                   ["files simgen did not make"]),
    "foreign + allow, planned file exists": (
        lambda t: (_user_files(t / "o"), (t / "o" / "images" / "000002.png").write_bytes(b"mine"), str(t / "o"))[2],
        ["allow_existing_files=true"], 2, ["already holds images/000002.png"]),
    "foreign + allow": (lambda t: (_user_files(t / "o"), str(t / "o"))[1], ["allow_existing_files=true"], 0, []),
    "empty output_dir": (lambda t: (_user_files(t), "")[1], [], 2, ["output_dir is empty"]),
    "filesystem root": (lambda t: "/", [], 2, ["filesystem root"]),
    "home folder": (lambda t: str(t / "home"), [], 2, ["home folder"]),
    "negative seed before an overwrite": ("finished", ["overwrite=true", "seed=-1"], 2, ["seed must be >= 0"]),
    "image too large before an overwrite": ("finished", ["overwrite=true", "render.width=100000"], 2,
                                            ["render.width must be"]),
    "NaN in the scene before an overwrite": ("finished-nan", ["overwrite=true"], 2, ["nan"]),
    "symlinked images/ before an overwrite": ("finished-symlink", ["overwrite=true"], 2, ["symbolic link"]),
    "finished + user file + overwrite": ("finished-user", ["overwrite=true", "seed=4"], 0, []),
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("done") / "ds"
    res = _render(TINY + [f"output_dir={d}"], d.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    return d


@pytest.mark.parametrize("case", list(CASES))
def test_no_file_is_lost(case, tmp_path, finished):
    setup, extra, code, needles = CASES[case]
    env = {}
    args = list(TINY)
    if isinstance(setup, str):
        out = tmp_path / "ds"
        import shutil

        shutil.copytree(finished, out)
        if setup == "finished-nan":
            scene = tmp_path / "bad.yaml"
            scene.write_text((Path(__file__).resolve().parents[2] / "scenes" / "default.yaml").read_text()
                             .replace("color: [0.85, 0.55, 0.15]", "color: [.nan, 0.55, 0.15]"))
            args.append(f"scene={scene}")
        if setup == "finished-symlink":
            elsewhere = tmp_path / "elsewhere"
            elsewhere.mkdir()
            (elsewhere / "precious.png").write_bytes(b"precious")
            shutil.move(str(out / "images"), str(tmp_path / "moved_images"))
            (out / "images").symlink_to(elsewhere, target_is_directory=True)
        if setup == "finished-user":
            (out / "images" / "holiday.jpg").write_bytes(b"a user's photo")
            (out / "depth" / "scan.png").write_bytes(b"a user's depth scan")
        out_arg = str(out)
    else:
        out_arg = setup(tmp_path)
        if case == "home folder":
            (tmp_path / "home").mkdir(exist_ok=True)
            env["HOME"] = str(tmp_path / "home")
    before = _hash_tree(tmp_path)
    res = _render(args + extra + [f"output_dir={out_arg}"], tmp_path, env)
    after = _hash_tree(tmp_path)
    if code == 2:
        _one_line(res, *needles)
        assert after == before, sorted(set(after.items()) ^ set(before.items()))[:5]
    else:
        assert res.returncode == 0, res.stderr[-2000:]
        kept = {k: v for k, v in before.items() if any(u in k for u in ("holiday", "notes", "scan"))}
        assert kept and all(after.get(k) == v for k, v in kept.items())
        assert any("depth/scan.png" in k for k in kept)
        man = json.loads((Path(out_arg) / "manifest.json").read_text())
        assert not any(u in f for u in ("holiday", "notes", "scan") for f in man["files"])
