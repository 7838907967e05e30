"""Cheap invariants not covered elsewhere: the randomize package imports no engine; fog treats depth 0 as far."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from simgen.randomize.schema import RandomizationConfig, validate_randomization


def test_default_is_all_off_and_valid():
    cfg = RandomizationConfig()
    assert cfg.enabled_families() == []
    validate_randomization(cfg)


def test_randomize_imports_no_engine():
    code = ("import sys, pkgutil, importlib, simgen.randomize, simgen.randomize.families as f\n"
            "for m in ['randomize.pipeline', 'randomize.schema', 'scene.sampler', 'core.imaging', 'core.rngs',\n"
            "          'core.geometry']:\n"
            "    importlib.import_module('simgen.' + m)\n"
            "for m in pkgutil.iter_modules(f.__path__):\n"
            "    importlib.import_module('simgen.randomize.families.' + m.name)\n"
            "bad = [m for m in ('pyrender', 'pybullet', 'OpenGL', 'torch') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_fog_converges_to_fog_colour_where_nothing_was_rendered():
    from simgen.randomize.families.weather import fog
    from simgen.scene.model import Camera

    cam = Camera(fx=100, fy=100, cx=8, cy=6, width=16, height=12, znear=0.01, zfar=10)
    rgb = np.full((12, 16, 3), 200, np.uint8)
    depth = np.zeros((12, 16), np.float32)
    depth[:, :8] = 0.1  # near geometry; right half: nothing rendered (depth 0 = far)
    out = fog(rgb, depth, cam, visibility=5.0, colour=(0.5, 0.5, 0.5))
    assert np.allclose(out[:, 8:], 127.5)
    assert np.all(np.abs(out[:, :8] - 200) < 15)
