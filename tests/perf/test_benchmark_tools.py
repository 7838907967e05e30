"""The benchmark helpers still match the installed pyrender (a silent no-op variant would mislead)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_colour_pass_variants_change_the_stock_shader():
    pyrender = pytest.importorskip("pyrender")
    from colour_pass import variants

    stock = (Path(pyrender.__file__).parent / "shaders" / "mesh.frag").read_text()
    v = variants(stock)
    assert set(v) == {"stock", "flat", "no_texture", "lambert"}
    assert v["stock"] == stock
    for name in ("flat", "no_texture", "lambert"):
        assert v[name] != stock, name
    assert "texture(material.base_color_texture" not in v["no_texture"].split("void main()")[1]
