"""Same config + seed = the same bytes, for every image byte, whatever the order, process or worker count.

The shader sums the lights of each kind in the order they are bound; floating-point sums of three or more terms
depend on that order, and a handful of pixels per image sit on a rounding boundary. pyrender binds lights in the
iteration order of a ``set`` of nodes, which depends on the set's history (lights are replaced every sample), so
the same sample rendered after different samples could differ by one grey level in a pixel or two (and by more
after JPEG). These tests render the same scenes with different histories, in different processes and with
different worker counts, and compare every byte.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.gl, pytest.mark.slow]

MANY_LIGHTS = ("randomization.lighting.n_lights={dist:const,value:4}",
               "randomization.lighting.kind={dist:choice,values:[directional,point],p:null}")


def _image_hashes(root: Path) -> dict[str, str]:
    files = [p for d in ("images", "depth") for p in sorted((root / d).glob("*.png"))] + [root / "annotations.json"]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _lights(scene, rng, n_dir: int, n_point: int):
    """``n_dir`` directional and ``n_point`` point lights of random colour and intensity around the scene."""
    from simgen.scene.model import Light

    out = []
    for k in range(n_dir + n_point):
        T = np.eye(4)
        d = rng.normal(size=3)
        d[2] = abs(d[2]) + 0.5
        d /= np.linalg.norm(d)
        z = d  # lights shine along local -z: local +z points back towards the light
        x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
        x /= np.linalg.norm(x)
        T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        T[:3, 3] = 1.5 * d
        kind = "directional" if k < n_dir else "point"
        out.append(Light(kind=kind, color=rng.uniform(0.5, 1.0, 3), intensity=float(rng.uniform(0.5, 2.0)) *
                         (1.0 if kind == "directional" else 2.0), T_world_light=T))
    return out


def test_render_does_not_depend_on_what_was_rendered_before(compose_cfg):
    """One scene with four lights of each kind rendered fresh, then again after renders with other light sets:
    every pixel identical."""
    from simgen.run.worker import Generator, sample_rng

    cfg = compose_cfg("randomization=off")
    rng = np.random.default_rng(0)
    with Generator(cfg) as g:
        scenes = [g.make_scene(i, sample_rng(0, i)) for i in range(3)]
        scenes = [replace(s, lights=_lights(s, rng, 4, 4)) for s in scenes]
        first = [g.renderer.render(s).rgb.copy() for s in scenes]
        for rep in range(3):
            for k in (2, 0, 1):  # other histories: other light node sets before each render
                other = replace(scenes[k], lights=_lights(scenes[k], rng, 1 + rep, 3 - rep))
                g.renderer.render(other)
                again = g.renderer.render(scenes[k]).rgb
                n = int((again != first[k]).any(-1).sum())
                assert n == 0, f"scene {k}, repeat {rep}: {n} pixels differ from its first render"


def test_repeated_samples_in_one_process_are_identical(compose_cfg):
    """The same samples made again, in other orders, by one Generator (moderate + six lights): identical."""
    from simgen.run.worker import Generator

    cfg = compose_cfg(*MANY_LIGHTS)
    seen: dict[int, bytes] = {}
    with Generator(cfg) as g:
        for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0, 1, 2]):
            for i in order:
                rgb = g.generate(i).rgb
                if i in seen:
                    n = int((np.frombuffer(seen[i], np.uint8).reshape(rgb.shape) != rgb).any(-1).sum())
                    assert n == 0, f"sample {i}: {n} pixels differ between renders in one process"
                seen[i] = rgb.tobytes()


def test_processes_and_worker_counts_give_the_same_bytes(compose_cfg, tmp_path):
    """workers=1 in this process, workers=2 with one-sample shards in reversed shard sizes, and the CLI in a
    fresh process: every image, depth and annotation byte identical."""
    from simgen.run.job import render_dataset

    small = ("render.width=320", "render.height=240", "export.preview=false", "n_images=8")
    base = compose_cfg(*small, *MANY_LIGHTS, "shard_size=4", f"output_dir={tmp_path / 'a'}")
    render_dataset(base)
    ref = _image_hashes(tmp_path / "a")
    render_dataset(replace(base, output_dir=str(tmp_path / "b"), workers=2, shard_size=1))
    assert _image_hashes(tmp_path / "b") == ref
    cmd = [sys.executable, "-m", "simgen.cli.main", "render", *small, *MANY_LIGHTS, "shard_size=3",
           f"output_dir={tmp_path / 'c'}"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    assert _image_hashes(tmp_path / "c") == ref
