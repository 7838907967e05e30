"""Fuzzing the checks: random mutations of valid scene files and configs must end in success or one SimgenError
(one line naming the problem), never another exception, never a hang over 10 s, never a changed file.

A seeded generator (so a failure is reproducible: the case number is in the message) mutates the built-in scene
files (numbers -> NaN/inf/huge/negative/zero/strings, keys dropped or unknown, values retyped, lists resized,
aliases and deep nesting) and the render config (each field set to a hostile value). Each case runs the job's
whole validation -- everything `simgen render` checks before it touches the output folder -- in this process.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import signal
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
import yaml

from simgen.errors import SimgenError

REPO = Path(__file__).resolve().parents[2]
N_SCENE_CASES = 400
N_CONFIG_CASES = 200
HOSTILE = [float("nan"), float("inf"), -float("inf"), -1, 0, 1e20, -1e20, 10**12, "text", "", None, [], {}, True,
           [1, 2, 3, 4, 5], {"dist": "uniform"}, 3.5]


def _mutate_value(v, rng):
    r = rng.random()
    if r < 0.5:
        return HOSTILE[int(rng.integers(len(HOSTILE)))]
    if isinstance(v, list) and v:
        if r < 0.65:
            return v[:-1]
        if r < 0.8:
            return v + [v[-1]]
        out = list(v)
        out[int(rng.integers(len(v)))] = HOSTILE[int(rng.integers(len(HOSTILE)))]
        return out
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v * float(rng.choice([-1, 0, 1e9, 1e-9]))
    return HOSTILE[int(rng.integers(len(HOSTILE)))]


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,), v
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield prefix + (i,), v
            yield from _paths(v, prefix + (i,))


def _set(d, path, value):
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value


def _delete(d, path):
    for p in path[:-1]:
        d = d[p]
    if isinstance(d, dict):
        d.pop(path[-1], None)
    elif isinstance(d, list) and d:
        d.pop(path[-1])


def mutate_scene(data: dict, rng) -> str:
    """A mutated scene file's text."""
    d = copy.deepcopy(data)
    for _ in range(int(rng.integers(1, 4))):
        paths = list(_paths(d))
        kind = rng.random()
        if kind < 0.1:  # an alias bomb
            return ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nobjects: [*e]\n")
        if kind < 0.15:  # deep nesting
            return "objects: " + "[" * 200 + "]" * 200 + "\n"
        if kind < 0.2:  # not a mapping / not YAML
            return rng.choice(["- a\n- b\n", "objects: [\n", "\x00\x01", "42\n", ":\n  - :"])
        if not paths:
            continue
        path, v = paths[int(rng.integers(len(paths)))]
        if kind < 0.3:
            _delete(d, path)
        elif kind < 0.38:
            parent = path[:-1]
            tgt = d
            for p in parent:
                tgt = tgt[p]
            if isinstance(tgt, dict):
                tgt["unknown_key_" + str(int(rng.integers(100)))] = 1
        else:
            _set(d, path, _mutate_value(v, rng))
    try:
        return yaml.safe_dump(d, allow_unicode=True)
    except yaml.YAMLError:
        return "{}\n"


def _validate_job(cfg) -> None:
    """Everything `simgen render` checks before it touches the output folder (simgen.run.job)."""
    from simgen.randomize.pipeline import Randomizer
    from simgen.run.job import check_render_limits, validate_job
    from simgen.run.output import resolve_output_dir
    from simgen.run.worker import resolve_assets_root, resolve_scene
    from simgen.scene.catalog import check_assets

    validate_job(cfg)
    spec = resolve_scene(cfg)
    check_assets(spec, resolve_assets_root(cfg))
    check_render_limits(cfg, spec)
    Randomizer.from_config(cfg.randomization, spec)
    resolve_output_dir(cfg.output_dir, cfg.scene)


class _Timeout(Exception):
    pass


def _run_case(fn, label: str) -> str:
    def on_alarm(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(10)
    try:
        fn()
        return "ok"
    except SimgenError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"{label}: a multi-line error: {msg!r}"
        return "error"
    except _Timeout:
        pytest.fail(f"{label}: validation took more than 10 s")
    except Exception as exc:  # noqa: BLE001 - the point of the test: anything but SimgenError is a bug
        pytest.fail(f"{label}: {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.gl
def test_fuzzed_scene_files_fail_cleanly(tmp_path, compose_cfg):
    """Random mutations of the built-in scenes: success or one SimgenError, within 10 s, nothing written."""
    rng = np.random.default_rng(20261202)
    scenes = {name: yaml.safe_load((REPO / "scenes" / f"{name}.yaml").read_text()) for name in
              ("default", "metal_parts")}
    sentinel = tmp_path / "existing"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("a user's file")
    before = _tree_hash(tmp_path)
    outcomes = {"ok": 0, "error": 0}
    base = compose_cfg("render.width=64", "render.height=48", f"output_dir={tmp_path / 'never'}")
    for case in range(N_SCENE_CASES):
        name = list(scenes)[case % len(scenes)]
        text = mutate_scene(scenes[name], rng)
        path = tmp_path / f"case{case}.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        cfg = dataclasses.replace(base, scene=str(path))
        outcomes[_run_case(lambda: _validate_job(cfg), f"scene case {case} ({name})")] += 1
        path.unlink()
    assert _tree_hash(tmp_path) == before and not (tmp_path / "never").exists()
    assert outcomes["error"] > N_SCENE_CASES // 3 and outcomes["ok"] > 0, outcomes


def _hostile_config(base, rng):
    cfg = copy.deepcopy(base)
    leaves = []

    def walk(obj, prefix):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                walk(v, prefix + [f.name])
            elif f.name not in ("output_dir", "scene"):
                leaves.append(prefix + [f.name])

    walk(cfg, [])
    for _ in range(int(rng.integers(1, 3))):
        path = leaves[int(rng.integers(len(leaves)))]
        obj = cfg
        for p in path[:-1]:
            obj = getattr(obj, p)
        old = getattr(obj, path[-1])
        new = _mutate_value(old, rng)
        if hasattr(old, "dist") and rng.random() < 0.7:  # a distribution: break one of its fields
            new = copy.deepcopy(old)
            fld = ["dist", "low", "high", "mean", "std", "values", "p", "value"][int(rng.integers(8))]
            setattr(new, fld, HOSTILE[int(rng.integers(len(HOSTILE)))])
        setattr(obj, path[-1], new)
    return cfg


@pytest.mark.gl
def test_fuzzed_configs_fail_cleanly(tmp_path, compose_cfg):
    """Hostile values in every field of the render config (as a Python caller could pass them): success or one
    SimgenError within 10 s; nothing written."""
    rng = np.random.default_rng(7)
    base = compose_cfg("randomization=strong", "render.width=64", "render.height=48",
                       f"output_dir={tmp_path / 'never'}")
    outcomes = {"ok": 0, "error": 0}
    for case in range(N_CONFIG_CASES):
        cfg = _hostile_config(base, rng)
        outcomes[_run_case(lambda: _validate_job(cfg), f"config case {case}")] += 1
    assert not (tmp_path / "never").exists()
    assert outcomes["error"] > N_CONFIG_CASES // 2, outcomes


def test_mutations_are_reproducible():
    data = {"objects": [{"category": "a", "shape": "box", "size": [1, 2, 3]}], "camera": {"fx": 600.0}}
    a = [mutate_scene(data, np.random.default_rng(1)) for _ in range(3)]
    b = [mutate_scene(data, np.random.default_rng(1)) for _ in range(3)]
    assert a == b and not math.isnan(0.0)
