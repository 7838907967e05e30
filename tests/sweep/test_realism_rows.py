"""The realism table's rows (conf/realism/*.yaml, `simgen experiment experiment=realism`) compose and each sets
what its name says, so the table in docs/sim2real.md keeps meaning what it says (composition only, no render)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simgen.cli.api import compose
from simgen.paths import conf_dir


@pytest.fixture
def textures(tmp_path) -> Path:
    (tmp_path / "surfaces").mkdir()
    (tmp_path / "panoramas").mkdir()
    return tmp_path


def _row(textures: Path, row: str) -> dict:
    """The composed experiment config of a row, as a plain dict (the command line's composition)."""
    overrides = [f"realism={row}", "scene=ycb_video", f"assets.textures={textures}"]
    return dataclasses.asdict(compose("experiment", overrides))


def test_every_row_file_is_in_the_sweep():
    rows = {p.stem for p in (conf_dir() / "realism").glob("*.yaml")} - {"none"}
    swept = (conf_dir() / "experiment" / "realism.yaml").read_text()
    assert {"default", "textures", "panoramas", "ibl", "allon", "pathtraced", "procedural"} <= rows
    for r in ("default", "textures", "panoramas", "ibl", "allon"):
        assert r in swept


def test_rows_add_one_thing_each(textures):
    bg = lambda c: c["randomization"]["background"]  # noqa: E731
    dis = lambda c: c["randomization"]["distractors"]  # noqa: E731
    weather_on = lambda c: c["randomization"]["weather"]["enabled"]  # noqa: E731
    surf, pano = str(textures / "surfaces"), str(textures / "panoramas")

    default, procedural = _row(textures, "default"), _row(textures, "procedural")
    assert weather_on(default) and not weather_on(procedural)
    for c in (default, procedural):
        assert bg(c)["texture_dir"] is None and bg(c)["panorama_dir"] is None and dis(c)["texture_dir"] is None

    tex = _row(textures, "textures")
    assert bg(tex)["texture_dir"] == surf and bg(tex)["panorama_dir"] is None and not weather_on(tex)

    pan = _row(textures, "panoramas")
    assert bg(pan)["panorama_dir"] == pano and bg(pan)["panorama_lighting"] is False
    assert pan["render"]["pyrender"]["shadows"] == "off" and pan["render"]["pyrender"]["ao"] == "off"

    ibl = _row(textures, "ibl")
    assert bg(ibl)["panorama_lighting"] is True and dis(ibl)["texture_dir"] is None

    allon = _row(textures, "allon")
    assert dis(allon)["texture_dir"] == surf and bg(allon)["panorama_dir"] == pano
    assert allon["render"]["backend"] == "pyrender"

    pt = _row(textures, "pathtraced")
    assert pt["render"]["backend"] == "mitsuba" and dis(pt)["texture_dir"] == surf


def test_the_ycbv_row_is_all_on_seen_like_ycb_video(textures):
    """Row "all on, seen like YCB-Video": all on's photographic material plus the capture's views, camera and print
    clutter; every other setting is all on's."""
    allon, ycbv = _row(textures, "allon"), _row(textures, "ycbv")
    r = ycbv["randomization"]
    assert r["distractors"]["print_bank"] == 16 and r["pose"]["upright_probability"]["value"] == 0.9
    cam = r["camera"]
    assert (cam["elevation_deg"]["low"], cam["elevation_deg"]["high"]) == (25, 60)
    assert (cam["distance_scale"]["low"], cam["distance_scale"]["high"]) == (0.7, 1.0)
    assert r["sensor"]["sharpen_probability"]["value"] == 0 and r["sensor"]["read_noise"]["high"] == 4
    changed = {("distractors", "print_bank"), ("pose", "upright_probability"), ("camera", "elevation_deg"),
               ("camera", "distance_scale"), ("sensor", "sharpen_probability"), ("sensor", "read_noise")}
    for fam, cfg in allon["randomization"].items():
        for key, value in (cfg.items() if isinstance(cfg, dict) else []):
            if (fam, key) not in changed:
                assert r[fam][key] == value, (fam, key)
    assert {k: v for k, v in ycbv.items() if k != "randomization"} == \
        {k: v for k, v in allon.items() if k != "randomization"}
