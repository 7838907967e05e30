"""Adding a randomization family, a renderer backend and an export format, each as ONE module plus one registry
line, without touching simgen: here the three live in a throw-away package whose entry points (the registry
lines of an installed package) name them. `simgen render` then takes their config keys, runs them and writes
their files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl

FAMILY = '''
"""A test family: darkens the image by `strength` (after rendering; labels unchanged)."""
from dataclasses import dataclass

import numpy as np

from simgen.core.dist import Dist, uniform
from simgen.randomize.family import Family


@dataclass
class DimConfig:
    """Darkens the image."""

    enabled: bool = False
    strength: Dist = uniform(0.4, 0.6, min=0.0, max=1.0)


class DimFamily(Family):
    name = "dim"
    stream_id = 1001
    order = 95
    Config = DimConfig

    def after_render(self, ctx) -> None:
        ctx.rgb = (ctx.rgb.astype(np.float32) * (1.0 - float(self.cfg.strength.sample(ctx.rng)))).astype(np.uint8)
'''

EXPORTER = '''
"""A test export format: one CSV line per annotation (image file, category, box)."""
from simgen.export import atomic


class CsvExporter:
    name = "csv"

    def outputs(self, coco, cfg):
        return ["boxes.csv"]

    def export(self, coco, out, cfg):
        names = {c["id"]: c["name"] for c in coco["categories"]}
        files = {e["id"]: e["file_name"] for e in coco["images"]}
        lines = [f"{files[a['image_id']]},{names[a['category_id']]}," + ",".join(f"{v:g}" for v in a["bbox"])
                 for a in coco["annotations"]]
        atomic.write_bytes(out / "boxes.csv", ("\\n".join(lines) + "\\n").encode())
        return ["boxes.csv"]
'''

RENDERER = '''
"""A test backend: the raster labels, colour = a flat grey per instance id (what a new engine plugs into)."""
from dataclasses import dataclass

import numpy as np

from simgen.renderers.pyrender.backend import PyrenderRenderer


@dataclass
class FlatConfig:
    grey: int = 7  # grey step per instance id


class FlatRenderer(PyrenderRenderer):
    Config = FlatConfig

    @classmethod
    def from_config(cls, render_cfg, width, height):
        r = super().from_config(render_cfg, width, height)
        r.grey = render_cfg.flat.grey
        return r

    def render(self, scene):
        frame = super().render(scene)
        frame.rgb = np.repeat((frame.instance_ids * self.grey % 256).astype(np.uint8)[..., None], 3, axis=2)
        return frame
'''


@pytest.fixture
def plugin(tmp_path) -> Path:
    root = tmp_path / "plugin"
    pkg = root / "toyplugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "dim.py").write_text(textwrap.dedent(FAMILY))
    (pkg / "csvout.py").write_text(textwrap.dedent(EXPORTER))
    (pkg / "flat.py").write_text(textwrap.dedent(RENDERER))
    info = root / "toyplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[simgen.families]\ndim = toyplugin.dim:DimFamily\n\n"
        "[simgen.exporters]\ncsv = toyplugin.csvout:CsvExporter\n\n"
        "[simgen.renderers]\nflat = toyplugin.flat:FlatRenderer\n")
    return root


def _render(plugin: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(Path(__file__).resolve().parents[2])])}
    cmd = [sys.executable, "-m", "simgen.cli.main", "render", "randomization=off", "n_images=2", "render.width=96",
           "render.height=72", f"output_dir={out}", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_a_family_a_backend_and_an_exporter_from_one_module_each(plugin, tmp_path):
    import cv2

    base = _render(plugin, tmp_path / "base")
    assert base.returncode == 0, base.stderr[-2000:]
    res = _render(plugin, tmp_path / "ext", "randomization.dim.enabled=true", "export.format=csv",
                  "render.backend=flat", "render.flat.grey=11")
    assert res.returncode == 0, res.stderr[-2000:]
    ext = tmp_path / "ext"
    # the exporter: its file, recorded as simgen's in the manifest
    rows = (ext / "boxes.csv").read_text().splitlines()
    coco = json.loads((ext / "annotations.json").read_text())
    assert len(rows) == len(coco["annotations"]) > 0
    assert "boxes.csv" in json.loads((ext / "manifest.json").read_text())["files"]
    # the backend: flat greys of the instance ids (then dimmed by the family); labels equal the default backend's
    img = cv2.imread(str(ext / "images" / "000001.png"))
    assert len(np.unique(img)) <= 1 + len(coco["annotations"]) + 8
    base_coco = json.loads((tmp_path / "base" / "annotations.json").read_text())
    assert [a["bbox"] for a in coco["annotations"]] == [a["bbox"] for a in base_coco["annotations"]]
    # the family: its config keys exist, its stream is its own, and it ran
    man = json.loads((ext / "manifest.json").read_text())
    assert man["config"]["randomization"]["dim"]["enabled"] is True
    assert 0 < img.max() <= 0.6 * 255 + 1  # flat greys, then darkened by 40-60%


def test_unknown_plugin_names_fail_clearly(plugin, tmp_path):
    res = _render(plugin, tmp_path / "x", "render.backend=nosuch")
    assert res.returncode == 2 and "unknown render.backend 'nosuch'" in res.stderr and "flat" in res.stderr
