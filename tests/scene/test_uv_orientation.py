"""An atlas texture rotated or mirrored against its mesh's UVs (three of the six textured YCB-Video meshes in
../shared/ycb) is found and the UVs remapped (assets.uv_orientation=auto|remap), with a warning; a matching
texture, a tiling texture and an unclear case are left alone; where no orientation fits (two more YCB meshes),
auto fills the atlas's empty background with neighbouring colour so faces sampling it are not black."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from simgen.scene.catalog import fill_empty_texels, orient_uv, uv_off_texture

SHARED_YCB = Path(__file__).resolve().parents[3] / "shared" / "ycb" / "models"


def _atlas_mesh(rng: np.random.Generator, n: int = 400):
    """A texture painted in a tall strip near its lower-left corner (u 0.03..0.22, v 0.03..0.47) and black
    elsewhere, and faces whose UVs all lie in that strip, each a small triangle (so centroids sample the paint).
    The strip has no symmetry of the square, so every rotation/mirror of the image moves it off the faces."""
    tex = np.zeros((256, 256, 3), np.uint8)
    tex[136:248, 8:56] = (200, 120, 40)  # image rows 136..247 = v in (0.03, 0.47); columns = u in (0.03, 0.22)
    c = rng.uniform([0.06, 0.06], [0.19, 0.44], size=(n, 2))
    uv = np.concatenate([c, c + [0.01, 0.0], c + [0.0, 0.01]]).astype(np.float32)
    faces = np.stack([np.arange(n), np.arange(n) + n, np.arange(n) + 2 * n], 1)
    return tex, uv, faces


def test_matching_texture_is_left_alone():
    tex, uv, faces = _atlas_mesh(np.random.default_rng(0))
    assert uv_off_texture(tex, uv, faces) == 0.0
    out, how, before, after = orient_uv(tex, uv, faces)
    assert how == "as is" and out is uv and before == after == 0.0


@pytest.mark.parametrize("k, flip", [(1, False), (2, False), (3, False), (0, True), (1, True), (2, True),
                                     (3, True)])
def test_rotated_or_mirrored_atlas_is_found(k, flip):
    tex, uv, faces = _atlas_mesh(np.random.default_rng(1))
    bad = np.rot90(tex, k)
    bad = np.ascontiguousarray(bad[:, ::-1] if flip else bad)
    assert uv_off_texture(bad, uv, faces) > 0.5  # the file as it is: black patches
    out, how, before, after = orient_uv(bad, uv, faces)
    assert how != "as is" and before > 0.5 and after == 0.0
    assert out.shape == uv.shape and out.min() >= 0 and out.max() <= 1


def test_tiling_uvs_and_unclear_cases_are_left_alone():
    tex, uv, faces = _atlas_mesh(np.random.default_rng(2))
    tiled = uv * 3.0  # a tiling texture: UVs beyond 1 are not an atlas layout
    assert orient_uv(np.rot90(tex).copy(), tiled, faces)[1] == "as is"
    noise = np.random.default_rng(3).uniform(0, 1, size=uv.shape).astype(np.float32)  # no orientation fits
    assert orient_uv(np.rot90(tex).copy(), noise, faces)[1] == "as is"


@pytest.mark.skipif(not SHARED_YCB.is_dir(), reason="../shared/ycb not present")
def test_ycb_meshes(caplog):
    """The shared YCB-Video meshes: sugar box, gelatin box and potted meat can get remapped UVs that put under 8%
    of their faces off the texture; the cracker box needs nothing; the file's UVs stay with as_is."""
    from simgen.scene.catalog import load_mesh_file

    with caplog.at_level(logging.WARNING):
        for name in ("004_sugar_box", "009_gelatin_box", "010_potted_meat_can"):
            path = SHARED_YCB / name / "textured_simple.obj"
            tm, uv, tex = load_mesh_file(path, name, 256)
            tm2, uv_file, _ = load_mesh_file(path, name, 256, "as_is")
            assert not np.array_equal(uv, uv_file)
            assert f"{name}/textured_simple.obj: its texture image is" in caplog.text
        _, uv, _ = load_mesh_file(SHARED_YCB / "003_cracker_box" / "textured_simple.obj", "c", 256)
        _, uv_file, _ = load_mesh_file(SHARED_YCB / "003_cracker_box" / "textured_simple.obj", "c", 256, "as_is")
        assert np.array_equal(uv, uv_file)


def test_fill_changes_only_empty_texels_and_takes_the_neighbours_colour():
    tex = np.zeros((64, 64, 3), np.uint8)
    tex[:, :32] = (200, 40, 40)  # left half red, right half empty
    tex[40:, :32] = (40, 200, 40)  # lower left green
    out = fill_empty_texels(tex)
    assert np.array_equal(out[:, :32], tex[:, :32])  # painted texels unchanged
    assert (out.max(-1) > 0).all()  # no empty texel left
    assert out[5, 34, 0] > 150 and out[5, 34, 1] < 100  # next to red: reddish
    assert out[60, 34, 1] > 150 and out[60, 34, 0] < 100  # next to green: greenish
    assert fill_empty_texels(out) is out  # nothing empty: the same array back


@pytest.mark.skipif(not SHARED_YCB.is_dir(), reason="../shared/ycb not present")
def test_ycb_meshes_without_a_fitting_orientation_get_their_background_filled(caplog):
    from simgen.scene.catalog import load_mesh_file

    with caplog.at_level(logging.WARNING):
        for name in ("005_tomato_soup_can", "006_mustard_bottle"):
            path = SHARED_YCB / name / "textured_simple.obj"
            _, uv, tex = load_mesh_file(path, name, 256)
            _, uv_r, tex_r = load_mesh_file(path, name, 256, "remap")
            assert np.array_equal(uv, uv_r)  # no orientation fits: UVs as in the file
            assert (tex.max(-1) == 0).mean() == 0.0 and (tex_r.max(-1) == 0).mean() > 0.2
            assert f"{name}/textured_simple.obj: " in caplog.text and "background is filled" in caplog.text
