"""The package's layering, checked: import-linter contracts (pyproject.toml), no import cycles (lazy imports
included), Hydra config objects only in simgen/cli, and simgen-internal imports at module level except where a
module is loaded on demand (the public API, the command line, the torch-based scoring and sweeps)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "simgen"
LAZY_OK = ("simgen/__init__.py", "simgen/cli/", "simgen/eval/", "simgen/sweep/")


def test_import_linter_contracts_hold():
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    res = subprocess.run(cmd + ["--config", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "BROKEN" not in res.stdout and "KEPT" in res.stdout


def _strongly_connected(adj: dict[str, list[str]]) -> list[list[str]]:
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for v in sorted(adj):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_even_through_lazy_imports():
    grimp = pytest.importorskip("grimp")
    g = grimp.build_graph("simgen")
    adj = {m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}
    assert _strongly_connected(adj) == []


def test_cycle_finder_finds_a_cycle():
    assert _strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]


def _modules():
    for p in sorted(PKG.rglob("*.py")):
        yield p.relative_to(REPO).as_posix(), ast.parse(p.read_text(encoding="utf-8"))


def test_hydra_config_objects_stay_in_the_command_line():
    bad = []
    for rel, tree in _modules():
        if rel.startswith("simgen/cli/"):
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and n.module in ("omegaconf", "hydra") and any(
                    a.name in ("DictConfig", "ListConfig") for a in n.names):
                bad.append(f"{rel}:{n.lineno}")
    assert not bad, f"DictConfig imported below simgen/cli: {bad}"


def test_internal_imports_are_at_module_level():
    bad = []
    for rel, tree in _modules():
        if rel.startswith(LAZY_OK):
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for n in ast.walk(fn):
                    if isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").startswith("simgen"):
                        bad.append(f"{rel}:{n.lineno} from {n.module}")
    assert not bad, f"function-level simgen imports outside {LAZY_OK}: {bad}"
