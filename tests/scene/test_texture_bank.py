"""simgen.scene.texture_bank: listing, bounded validation, cached loading, tile sizes, real-world UVs, seams.

Synthetic images in tmp_path; the one test on the shared bank skips when ../shared is absent."""

from __future__ import annotations

import logging
import os
import time

import cv2
import numpy as np
import pytest

from simgen.errors import AssetError, ConfigError
from simgen.scene import texture_bank as tb


def _img(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg
    return msg


# ---------------------------------------------------------------------------------------------- listing
def test_list_textures_filters_sorts_and_bounds(tmp_path):
    for name in ("b.png", "A.JPG", "c.jpeg", "d.txt", "e.hdr"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    names = [p.name for p in tb.list_textures(tmp_path)]
    assert names == ["A.JPG", "b.png", "c.jpeg"]
    with pytest.raises(ConfigError) as e:
        tb.list_textures(tmp_path, max_files=2, key="my.key")
    assert "my.key" in _one_line(e) and "more than 2" in str(e.value)


@pytest.mark.parametrize("what", ["missing", "empty", "blank"])
def test_list_textures_names_the_key(tmp_path, what):
    folder = {"missing": tmp_path / "nope", "empty": tmp_path, "blank": ""}[what]
    with pytest.raises(ConfigError) as e:
        tb.list_textures(folder, key="randomization.background.texture_dir")
    assert "randomization.background.texture_dir" in _one_line(e)


# ---------------------------------------------------------------------------------------------- validation
def test_header_sizes_match_decoded(tmp_path):
    for ext in (".png", ".jpg"):
        p = tmp_path / f"a{ext}"
        cv2.imwrite(str(p), _img(37, 53))
        assert tb.image_size(p.read_bytes()) == (53, 37)
    assert tb.image_size(b"not an image at all") is None


def test_validate_textures_decodes_every_file(tmp_path):
    good = []
    for i, (h, w) in enumerate([(20, 30), (64, 64)]):
        p = tmp_path / f"g{i}.jpg"
        cv2.imwrite(str(p), _img(h, w, i))
        good.append(p)
    assert tb.validate_textures(good) == [(30, 20), (64, 64)]

    trunc = tmp_path / "trunc.jpg"
    data = good[1].read_bytes()
    trunc.write_bytes(data[: len(data) // 3])           # header intact, scan data cut
    with pytest.raises(AssetError) as e:
        tb.validate_textures([*good, trunc])
    assert "trunc.jpg" in _one_line(e)

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"hello, not a png")
    with pytest.raises(AssetError) as e:
        tb.validate_textures([fake])
    assert "fake.png" in _one_line(e)

    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(AssetError) as e:
        tb.validate_textures([empty])
    assert "empty" in _one_line(e)


def test_validate_textures_bounds_bytes_and_pixels(tmp_path):
    p = tmp_path / "big.png"
    cv2.imwrite(str(p), _img(100, 200))
    with pytest.raises(AssetError) as e:
        tb.validate_textures([p], max_bytes=1000)
    assert "MiB" in _one_line(e) and "big.png" in str(e.value)
    with pytest.raises(AssetError) as e:
        tb.validate_textures([p], max_pixels=100 * 199)
    assert "200x100" in _one_line(e)


def test_pixel_bound_is_checked_before_decoding(tmp_path, monkeypatch):
    """A PNG claiming 100000 x 100000 pixels is refused from its header; imdecode is never called."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    p = tmp_path / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded a file over the pixel bound"))
    with pytest.raises(AssetError) as e:
        tb.validate_textures([p])
    assert "100000x100000" in _one_line(e)


# ---------------------------------------------------------------------------------------------- loading
def test_load_texture_rgb_downscaled_cached_readonly(tmp_path):
    bgr = np.zeros((100, 200, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, 200            # B, G, R
    p = tmp_path / "t.png"
    cv2.imwrite(str(p), bgr)
    tb.clear_cache()
    a = tb.load_texture(p, max_size=50)
    assert a.shape == (25, 50, 3) and a.dtype == np.uint8
    assert tuple(a[0, 0]) == (200, 20, 10)                           # RGB
    assert tb.load_texture(p, max_size=50) is a                      # cached
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1
    full = tb.load_texture(p, max_size=1024)
    assert full.shape == (100, 200, 3)                               # never upscaled

    # a changed file is re-read (the key holds size and mtime)
    bgr[..., 2] = 100
    cv2.imwrite(str(p), bgr)
    os.utime(p, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert tuple(tb.load_texture(p, max_size=50)[0, 0]) == (100, 20, 10)


def test_load_texture_same_bytes_after_cache_clear(tmp_path):
    p = tmp_path / "n.jpg"
    cv2.imwrite(str(p), _img(300, 170, 3))
    tb.clear_cache()
    a = tb.load_texture(p, max_size=64).copy()
    tb.clear_cache()
    b = tb.load_texture(p, max_size=64)
    assert a.tobytes() == b.tobytes()


def test_load_texture_errors(tmp_path):
    with pytest.raises(AssetError) as e:
        tb.load_texture(tmp_path / "missing.jpg")
    assert "missing.jpg" in _one_line(e)
    with pytest.raises(ConfigError):
        tb.load_texture(tmp_path / "missing.jpg", max_size=0)


def test_cache_is_bounded_by_bytes():
    c = tb._ByteLRU(3 * 100)
    arrays = [c.get_or_make(i, lambda: np.zeros(100, np.uint8)) for i in range(5)]
    assert len(c._d) == 3 and c._bytes == 300 and list(c._d) == [2, 3, 4]
    assert c.get_or_make(9, lambda: np.zeros(1000, np.uint8)).nbytes == 1000    # too big: returned, not kept
    assert 9 not in c._d and not arrays[0].flags.writeable


# ---------------------------------------------------------------------------------------------- tile sizes
def test_tile_size_lookup_order():
    assert tb.texture_category("/x/woodfloor_planks020.jpg") == "woodfloor"
    assert tb.tile_size_m("brick_brick_wall_02.jpg") == tb.ASSET_TILE_M["brick_brick_wall_02"]
    assert tb.tile_size_m("fabric_unknown.png") == tb.CATEGORY_TILE_M["fabric"]
    assert tb.tile_size_m("mystery.png") == tb.DEFAULT_TILE_M
    assert tb.tile_size_m("fabric_unknown.png", {"fabric": (1, 2)}) == (1.0, 2.0)
    assert tb.tile_size_m("brick_brick_wall_02.jpg", {"brick_brick_wall_02": (3, 4), "brick": (1, 2)}) == (3.0, 4.0)
    with pytest.raises(ConfigError):
        tb.tile_size_m("fabric_x.jpg", {"fabric": (2, 1)})
    for lo, hi in [*tb.CATEGORY_TILE_M.values(), *tb.ASSET_TILE_M.values()]:
        assert 0.1 <= lo <= hi <= 5.0


# ---------------------------------------------------------------------------------------------- UVs
def test_planar_uv_is_metres_over_tile():
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [-0.25, 0.5]])
    uv = tb.planar_uv(pts, 0.5)
    assert uv.dtype == np.float32 and uv.shape == (5, 2)
    np.testing.assert_allclose(uv, pts / 0.5, atol=1e-6)
    np.testing.assert_allclose(tb.planar_uv(pts, (0.5, 0.25)), pts / [0.5, 0.25], atol=1e-6)
    np.testing.assert_allclose(tb.planar_uv(pts, 1.0, offset_m=(0.1, -0.2)), pts + [0.1, -0.2], atol=1e-6)
    # the texture turned by +90 degrees: a point on +y reads u = +1 (the image's u axis now points along +y)
    np.testing.assert_allclose(tb.planar_uv([[0, 1]], 1.0, angle=np.pi / 2), [[1, 0]], atol=1e-6)
    with pytest.raises(ConfigError):
        tb.planar_uv(pts, 0.0)


def _signed_uv_areas(uv: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = uv[faces[:, 0]], uv[faces[:, 1]], uv[faces[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


@pytest.mark.parametrize("side", [0.05, 0.2, 2.0])
def test_triplanar_faces_keep_real_size_and_never_mirror(side):
    """A box of any size: every face's UV area is its area / tile^2 (same texel density in metres), and every
    face keeps the winding seen from outside (no mirrored image on any side)."""
    trimesh = pytest.importorskip("trimesh")
    box = trimesh.creation.box(extents=(side, 1.5 * side, 0.7 * side))
    tile = 0.4
    v, f, uv = tb.triplanar_uv_faces(box.vertices, box.faces, tile)
    assert v.shape == (3 * len(box.faces), 3) and uv.shape == (3 * len(box.faces), 2) and f.dtype == np.int32
    areas_uv = _signed_uv_areas(uv.astype(np.float64), f)
    tri = v[f].astype(np.float64)
    areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert np.all(areas_uv > 0), "a face shows a mirrored texture"
    np.testing.assert_allclose(areas_uv, areas / tile**2, rtol=1e-4)
    # side faces: the image's v (up) runs along +z
    side_faces = np.abs(box.face_normals[:, 2]) < 0.5
    corner_z = v[f[side_faces]][..., 2]
    corner_v = uv[f[side_faces]][..., 1]
    np.testing.assert_allclose(corner_v, corner_z / tile, atol=1e-5)


def test_triplanar_per_vertex_matches_faces_on_flat_patches():
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.3, 0.2, 0.0]])
    normals = np.tile([0.1, -0.2, 1.0], (4, 1))
    np.testing.assert_allclose(tb.triplanar_uv(verts, normals, 0.5), verts[:, :2] / 0.5, atol=1e-6)
    # -z face: mirrored x so the image reads unmirrored from below
    np.testing.assert_allclose(tb.triplanar_uv(verts, -normals, 0.5)[:, 0], -verts[:, 0] / 0.5, atol=1e-6)
    with pytest.raises(ConfigError):
        tb.triplanar_uv(verts, normals[:2], 0.5)


# ---------------------------------------------------------------------------------------------- seams
def _non_tileable(h=64, w=96) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    g = (40 + 150 * xx / w + 50 * yy / h).astype(np.float32)
    g += np.random.default_rng(1).normal(0, 2, g.shape)
    return np.clip(np.repeat(g[..., None], 3, -1), 0, 255).astype(np.uint8)


def test_seam_fixes_make_a_ramp_tileable():
    img = _non_tileable()
    ex, ey = tb.seam_excess(img)
    assert ex > 50 and ey > 20
    m = tb.mirror_tile(img)
    assert m.shape == (128, 192, 3)
    assert max(tb.seam_excess(m)) < 1.0
    np.testing.assert_array_equal(m[:64, :96], img)
    c = tb.crossfade_tile(img, band=0.2)
    assert c.shape == img.shape and c.dtype == np.uint8
    assert max(tb.seam_excess(c)) < 2.0
    np.testing.assert_array_equal(c[32, 45:51], img[32, 45:51])       # centre untouched
    with pytest.raises(ConfigError):
        tb.crossfade_tile(img, band=0.0)


# ---------------------------------------------------------------------------------------------- shared bank
def test_shared_surface_bank(shared, caplog):
    folder = shared / "textures" / "surfaces"
    if not folder.is_dir():
        pytest.skip("../shared/textures/surfaces is absent")
    paths = tb.list_textures(folder)
    t0 = time.perf_counter()
    with caplog.at_level(logging.INFO):
        sizes = tb.validate_textures(paths)
    dt = time.perf_counter() - t0
    logging.getLogger(__name__).info("validated %d textures in %.2f s", len(paths), dt)
    assert len(sizes) == len(paths) >= 50
    assert all(max(s) <= 1024 for s in sizes)
    # every file has a category with a measured or estimated size, none falls back to the default
    for p in paths:
        assert tb.texture_category(p) in tb.CATEGORY_TILE_M, p.name
    for stem in tb.ASSET_TILE_M:
        assert (folder / f"{stem}.jpg").is_file(), stem
