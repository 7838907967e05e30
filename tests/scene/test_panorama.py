"""simgen.scene.panorama against analytic answers: the shared convention, background, dominant light, SH, exposure.

Synthetic panoramas (in memory, or written as .hdr into tmp_path with cv2); the test on the real bank skips when
../shared is absent."""

from __future__ import annotations

import math
import re
import time

import cv2
import numpy as np
import pytest

from simgen.errors import AssetError, ConfigError
from simgen.scene import panorama as P


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg
    return msg


def _unit(elev_deg: float, azim_deg: float) -> np.ndarray:
    e, a = math.radians(elev_deg), math.radians(azim_deg)
    return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def _disc_pano(H: int, centre: np.ndarray, radius_deg: float, L_disc, L_bg, ss: int = 4) -> np.ndarray:
    """Background L_bg plus a disc (spherical cap) of radiance L_disc, pixel coverage supersampled ss x ss."""
    W = 2 * H
    sub = (np.arange(ss) + 0.5) / ss - 0.5
    cover = np.zeros((H, W))
    cosr = math.cos(math.radians(radius_deg))
    for dy in sub:
        for dx in sub:
            th = (np.arange(H)[:, None] + 0.5 + dy) * np.pi / H
            ph = (0.5 - (np.arange(W)[None, :] + 0.5 + dx) / W) * 2 * np.pi
            d = np.stack(np.broadcast_arrays(np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)), -1)
            cover += (d @ centre >= cosr)
    cover /= ss * ss
    L_disc, L_bg = np.broadcast_to(L_disc, (3,)), np.broadcast_to(L_bg, (3,))
    return (L_bg + (L_disc - L_bg) * cover[..., None]).astype(np.float32)


def _cap_irradiance(L: float, radius_deg: float) -> float:
    """Irradiance of a uniform cap of radiance L on a surface facing its centre: pi L sin^2(radius)."""
    return math.pi * L * math.sin(math.radians(radius_deg)) ** 2


def _write_hdr(path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1].astype(np.float32)))


# ---------------------------------------------------------------------------------------------- convention
@pytest.mark.parametrize("rotation", [0.0, 0.4, -2.5])
def test_directions_invert_the_convention(rotation):
    H, W = 8, 16
    d = P.directions(H, W, rotation)
    assert d.shape == (H, W, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0, atol=1e-12)
    # the convention's formula, spelled out literally
    phi = np.arctan2(d[..., 1], d[..., 0]) - rotation
    u = np.mod(0.5 - phi / (2 * np.pi), 1)
    v = np.arccos(np.clip(d[..., 2], -1, 1)) / np.pi
    col, row = u * W - 0.5, v * H - 0.5
    jj, ii = np.meshgrid(np.arange(W), np.arange(H))
    np.testing.assert_allclose(np.mod(col - jj + W / 2, W) - W / 2, 0, atol=1e-9)
    np.testing.assert_allclose(row, ii, atol=1e-9)
    c2, r2 = P.direction_to_pixel(d, H, W, rotation)
    np.testing.assert_allclose(np.mod(c2 - jj + W / 2, W) - W / 2, 0, atol=1e-9)
    np.testing.assert_allclose(r2, ii, atol=1e-9)


def test_convention_anchors():
    H, W = 32, 64
    px = lambda d, r=0.0: tuple(float(x) for x in P.direction_to_pixel(np.asarray(d, float), H, W, r))  # noqa
    assert px([1, 0, 0]) == pytest.approx((W / 2 - 0.5, H / 2 - 0.5))      # +x: centre column, horizon
    assert px([0, 1, 0])[0] == pytest.approx(W / 4 - 0.5)                  # +y: a quarter from the left
    assert px([0, -1, 0])[0] == pytest.approx(3 * W / 4 - 0.5)
    assert px([-1, 0, 0])[0] in (pytest.approx(-0.5), pytest.approx(W - 0.5))
    assert px([0, 0, 1])[1] == pytest.approx(-0.5)                         # zenith: top edge
    assert px([0, 0, -1])[1] == pytest.approx(H - 0.5)
    r = 0.9                                                                # rotated: azimuth r is the centre
    assert px([math.cos(r), math.sin(r), 0], r)[0] == pytest.approx(W / 2 - 0.5)


def test_solid_angles_sum_to_sphere():
    w = P.solid_angles(16, 32)
    assert w.shape == (16, 32) and np.all(w > 0)
    assert w.sum() == pytest.approx(4 * np.pi, rel=1e-12)


# ---------------------------------------------------------------------------------------------- background
def _look_at(forward, up=(0, 0, 1)) -> np.ndarray:
    """T_world_cam (OpenCV: x right, y down, z forward) looking along ``forward``."""
    z = np.asarray(forward, float) / np.linalg.norm(forward)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, (1.0, 0.0, 0.0))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], 1)
    T[:3, 3] = (0.3, -0.2, 1.0)                       # translation does not matter for an environment
    return T


@pytest.mark.parametrize("forward,rotation", [((1, 0, 0), 0.0), ((0.3, -1, 0.4), 0.0), ((0.2, 0.1, -1), 0.0),
                                              ((0.05, 0, 1), 0.0), ((-1, 0.02, 0.1), 0.0), ((1, 1, 0.2), 1.1)])
def test_background_matches_the_convention(forward, rotation):
    """A panorama whose colour encodes its own pano-frame direction: the background pixel must read the camera
    ray rotated into the panorama's frame (Rz(-rotation) d), across the seam and over the poles."""
    H = 128
    pano = (P.directions(H, 2 * H) * 0.5 + 0.5).astype(np.float32)
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    T = _look_at(forward)
    bg = P.background(pano, K, T, 80, 60, rotation=rotation, exposure=2.0)
    assert bg.shape == (60, 80, 3) and bg.dtype == np.float32
    rays = P.camera_rays(K, T, 80, 60)
    expect = (rays @ P.rot_z(-rotation).T) * 0.5 + 0.5
    np.testing.assert_allclose(bg / 2.0, expect, atol=0.01)
    # handedness: the right edge of an upright camera looking along +x sees -y (world)
    if forward == (1, 0, 0):
        assert rays[30, -1, 1] < -0.4 and rays[0, 40, 2] > 0.3


def test_camera_rays_formula():
    K = np.array([[100.0, 0, 50], [0, 80.0, 40], [0, 0, 1]])
    r = P.camera_rays(K, np.eye(4), 100, 80)
    d = np.array([(7 + 0.5 - 50) / 100, (3 + 0.5 - 40) / 80, 1.0])
    np.testing.assert_allclose(r[3, 7], d / np.linalg.norm(d), atol=1e-12)
    with pytest.raises(ConfigError):
        P.camera_rays(np.array([[100.0, 1, 50], [0, 80, 40], [0, 0, 1]]), np.eye(4), 10, 10)


def test_display_transform_formula():
    x = np.array([0.0, 0.18, 0.5, 1.0, 2.0, -1.0, 1e-3], np.float32)
    expect = [round(255 * min(max(v, 0), 1) ** (1 / 2.2)) for v in x.astype(float)]
    got = P.display_transform(x)
    assert got.dtype == np.uint8 and got.tolist() == expect


# ---------------------------------------------------------------------------------------------- irradiance
def test_uniform_panorama_irradiance_is_pi_L():
    L = np.array([0.7, 1.3, 2.0])
    pano = np.broadcast_to(L, (64, 128, 3)).astype(np.float32)
    n = np.random.default_rng(0).normal(size=(200, 3))
    E = P.sh_irradiance(P.sh9(pano, 0.37), n)
    np.testing.assert_allclose(E, np.broadcast_to(np.pi * L, E.shape), rtol=0.01)
    np.testing.assert_allclose(P.irradiance_brute(pano, n[:20]), np.broadcast_to(np.pi * L, (20, 3)), rtol=0.01)


@pytest.mark.parametrize("rotation", [0.0, 1.3])
def test_sh9_equals_direct_projection(rotation):
    H, W = 32, 64
    pano = np.random.default_rng(1).random((H, W, 3)).astype(np.float32) * 3
    d = P.directions(H, W, rotation)
    ref = np.einsum("hwk,hwc,hw->kc", P.sh_basis(d), pano.astype(np.float64), P.solid_angles(H, W))
    np.testing.assert_allclose(P.sh9(pano, rotation), ref, rtol=1e-5, atol=1e-6)


def test_sh_irradiance_of_a_sky_gradient_matches_brute_force():
    """Sky brightening toward the zenith over a dark ground (0.2 + max(z, 0)): order-2 SH vs direct cosine
    integration on the same pixels, every normal within 3 %."""
    H = 128
    z = P.directions(H, 2 * H)[..., 2]
    pano = np.repeat((0.2 + np.maximum(z, 0))[..., None], 3, -1).astype(np.float32)
    n = np.random.default_rng(2).normal(size=(300, 3))
    e_sh, e_ref = P.sh_irradiance(P.sh9(pano), n), P.irradiance_brute(pano, n)
    assert np.max(np.abs(e_sh - e_ref) / e_ref) < 0.03


def test_sh_irradiance_of_a_hard_horizon_is_within_6_percent():
    """Known limit: a sky/ground step (blue sky over brown ground) is harder for order 2: ~5 % worst normal."""
    H = 128
    z = P.directions(H, 2 * H)[..., 2][..., None]
    pano = np.where(z > 0, np.array([0.4, 0.6, 1.0]) * (0.5 + 1.5 * z), np.array([0.25, 0.2, 0.15]))
    n = np.random.default_rng(3).normal(size=(300, 3))
    e_sh, e_ref = P.sh_irradiance(P.sh9(pano.astype(np.float32)), n), P.irradiance_brute(pano, n)
    assert np.max(np.abs(e_sh - e_ref) / e_ref) < 0.06


def test_glsl_snippet_is_the_numpy_twin():
    """Evaluate the GLSL text's arithmetic with numpy (a literal translation) against sh_irradiance."""
    src = P.SH_IRRADIANCE_GLSL
    assert "uniform vec3 sh[9];" in src and "vec3 sh_irradiance(vec3 n)" in src
    body = src[src.index("vec3 e ="):src.index(";", src.index("vec3 e ="))]
    expr = "(" + body.replace("vec3 e =", "") + ")"
    expr = re.sub(r"sh\[(\d)\]", r"L[\1]", expr).replace("n.x", "x").replace("n.y", "y").replace("n.z", "z")
    L = np.random.default_rng(4).normal(size=(9, 3))
    n = np.random.default_rng(5).normal(size=(50, 3))
    nn = n / np.linalg.norm(n, axis=1, keepdims=True)
    x, y, z = (nn[:, i:i + 1] for i in range(3))
    glsl = np.maximum(eval(expr, {"L": L, "x": x, "y": y, "z": z}), 0.0)   # noqa: S307 (our own constant)
    np.testing.assert_allclose(glsl, P.sh_irradiance(L, n), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- dominant light
@pytest.mark.parametrize("elev,azim", [(35.0, 120.0), (10.0, -60.0), (60.0, 180.0), (88.0, 30.0)])
def test_dominant_light_of_a_disc(elev, azim):
    """A 4-degree disc 10^4 x brighter than the sky: direction within 2 degrees, E within 5 % of pi L sin^2 r,
    and what is left is the sky (the disc's energy is not counted twice). Azimuth 180 straddles the seam,
    elevation 88 touches the pole."""
    H, r, Ld, Lb = 256, 4.0, 2000.0, 0.2
    c = _unit(elev, azim)
    pano = _disc_pano(H, c, r, Ld, Lb)
    light = P.dominant_light(pano)
    assert _angle_deg(light.direction, c) < 2.0
    assert light.irradiance == pytest.approx(_cap_irradiance(Ld - Lb, r), rel=0.05)
    np.testing.assert_allclose(light.colour, 1.0, rtol=1e-6)
    assert float(light.colour @ P.LUMA) == pytest.approx(1.0)
    assert float(P.luminance(light.pano_without).max()) <= 1.01 * Lb
    removed = P.sphere_integral(pano) - P.sphere_integral(light.pano_without)
    cap = 2 * np.pi * (1 - math.cos(math.radians(r)))
    assert removed == pytest.approx((Ld - Lb) * cap, rel=0.03)


def test_dominant_light_colour_and_largest_energy_wins():
    H = 128
    warm = np.array([3000.0, 2000.0, 1000.0])
    pano = _disc_pano(H, _unit(30, 45), 4.0, warm, 0.1)
    weak = _disc_pano(H, _unit(-20, -100), 4.0, 200.0, 0.0)
    light = P.dominant_light(pano + weak)
    assert _angle_deg(light.direction, _unit(30, 45)) < 2.0
    np.testing.assert_allclose(light.colour, warm / (warm @ P.LUMA), rtol=0.02)


@pytest.mark.parametrize("rotation", [0.5, -2.0, math.pi])
def test_rotation_turns_the_light_about_z(rotation):
    pano = _disc_pano(128, _unit(40, 20), 5.0, 500.0, 0.3)
    a, b = P.dominant_light(pano), P.dominant_light(pano, rotation)
    np.testing.assert_allclose(b.direction, P.rot_z(rotation) @ a.direction, atol=1e-9)
    assert _angle_deg(b.direction, _unit(40, 20 + math.degrees(rotation))) < 2.0
    assert b.irradiance == pytest.approx(a.irradiance, rel=1e-9)
    # SH turns with it: E under rotation r at Rz(r) n equals E without rotation at n
    n = np.random.default_rng(6).normal(size=(30, 3))
    np.testing.assert_allclose(P.sh_irradiance(P.sh9(pano, rotation), n @ P.rot_z(rotation).T),
                               P.sh_irradiance(P.sh9(pano), n), rtol=1e-5, atol=1e-9)   # float32 sums


def test_flat_and_overcast_panoramas_give_no_or_weak_light():
    flat = np.full((64, 128, 3), 0.5, np.float32)
    light = P.dominant_light(flat)
    assert light.irradiance == 0.0 and light.pano_without is flat
    np.testing.assert_allclose(light.direction, [0, 0, 1])
    # overcast: smooth sky brightening toward the zenith, no compact light
    z = P.directions(128, 256)[..., 2]
    sky = np.repeat((0.3 + 0.7 * np.maximum(z, 0) + 0.05 * np.maximum(-z, 0))[..., None], 3, -1).astype(np.float32)
    light = P.dominant_light(sky)
    e_up = P.irradiance_brute(sky, [[0, 0, 1]])[0, 1]
    assert light.irradiance < 0.01 * e_up


def test_dominant_light_is_deterministic():
    pano = _disc_pano(64, _unit(20, 10), 6.0, 100.0, 0.1) + np.random.default_rng(7).random((64, 128, 3),
                                                                                          np.float32)
    a, b = P.dominant_light(pano, 0.3), P.dominant_light(pano, 0.3)
    assert a.direction.tobytes() == b.direction.tobytes() and a.irradiance == b.irradiance
    assert a.pano_without.tobytes() == b.pano_without.tobytes()
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    assert (P.background(pano, K, np.eye(4), 64, 48, 0.2).tobytes()
            == P.background(pano, K, np.eye(4), 64, 48, 0.2).tobytes())


# ---------------------------------------------------------------------------------------------- exposure
def test_auto_exposure():
    L = 0.5
    flat = np.full((32, 64, 3), L, np.float32)
    assert P.auto_exposure(flat) == pytest.approx(0.18 / L, rel=1e-3)
    assert P.auto_exposure(flat, "incident") == pytest.approx(1 / L, rel=1e-3)
    pano = np.random.default_rng(8).random((128, 256, 3), np.float32)
    assert P.auto_exposure(7.0 * pano) == pytest.approx(P.auto_exposure(pano) / 7.0, rel=1e-6)
    # a sun holding most of the energy barely moves the log average
    sun = _disc_pano(128, _unit(50, 0), 0.5, 1e5, 0.0)
    share = P.sphere_integral(sun) / P.sphere_integral(pano + sun)
    assert share > 0.6
    assert P.auto_exposure(pano + sun) == pytest.approx(P.auto_exposure(pano), rel=0.05)
    with pytest.raises(AssetError):
        P.auto_exposure(np.zeros((8, 16, 3), np.float32))
    with pytest.raises(ConfigError):
        P.auto_exposure(flat, "median")


# ---------------------------------------------------------------------------------------------- files
def test_load_panorama_roundtrip_rgb_and_downscale(tmp_path):
    H, W = 16, 32
    rgb = np.zeros((H, W, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 4.0, 2.0, 0.5
    rgb[:, :4] *= 3
    p = tmp_path / "p.hdr"
    _write_hdr(p, rgb)
    P.clear_cache()
    a = P.load_panorama(p)
    assert a.shape == (H, W, 3) and a.dtype == np.float32 and not a.flags.writeable
    np.testing.assert_allclose(a, rgb, rtol=0.01)                         # RGBE: ~1 % quantisation
    assert P.load_panorama(p) is a
    small = P.load_panorama(p, max_width=16)
    assert small.shape == (8, 16, 3)
    np.testing.assert_allclose(small.mean((0, 1)), a.mean((0, 1)), rtol=1e-5)
    assert [q.name for q in P.list_panoramas(tmp_path)] == ["p.hdr"]


def test_bad_panoramas_give_one_line_errors(tmp_path, monkeypatch):
    ok = np.ones((16, 32, 3), np.float32)
    square = tmp_path / "square.hdr"
    _write_hdr(square, np.ones((16, 16, 3), np.float32))
    garbage = tmp_path / "garbage.hdr"
    garbage.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 16 +X 32\n" + b"\x01" * 10)
    header_only = tmp_path / "noheader.hdr"
    header_only.write_bytes(b"this is not a radiance file")
    jpg = tmp_path / "photo.jpg"
    cv2.imwrite(str(jpg), np.zeros((8, 16, 3), np.uint8))
    good = tmp_path / "good.hdr"
    _write_hdr(good, ok)
    cases = [(tmp_path / "missing.hdr", "missing"), (square, "2:1"), (garbage, "decode"),
             (header_only, "header"), (jpg, ".hdr")]
    for path, word in cases:
        with pytest.raises(AssetError) as e:
            P.load_panorama(path)
        assert path.name in _one_line(e) and word in str(e.value), str(e.value)
    with pytest.raises(AssetError) as e:
        P.load_panorama(good, max_pixels=100)
    assert "32x16" in _one_line(e)
    with pytest.raises(AssetError) as e:
        P.load_panorama(good, max_bytes=10)
    assert "MiB" in _one_line(e)
    # non-finite / negative values (RGBE cannot hold them; other decoders could)
    for bad, word in ((np.nan, "NaN"), (-1.0, "negative")):
        arr = np.ones((16, 32, 3), np.float32)
        arr[3, 4, 1] = bad
        monkeypatch.setattr(cv2, "imdecode", lambda *a, _arr=arr, **k: _arr.copy())
        P.clear_cache()
        with pytest.raises(AssetError) as e:
            P.load_panorama(good)
        assert word in _one_line(e)
    monkeypatch.undo()
    with pytest.raises(ConfigError) as e:
        P.list_panoramas(tmp_path / "nope", key="randomization.lighting.envmap_dir")
    assert "randomization.lighting.envmap_dir" in _one_line(e)
    with pytest.raises(ConfigError):
        P.load_panorama(good, max_width=33)


# ---------------------------------------------------------------------------------------------- per sample
def test_env_lighting_applies_rotation_and_exposure(tmp_path):
    pano = _disc_pano(128, _unit(30, 0), 5.0, 800.0, 0.2)
    p = tmp_path / "sun.hdr"
    _write_hdr(p, pano)
    P.clear_cache()
    base = P.env_lighting(P.Envmap(str(p)))
    lit = P.env_lighting(P.Envmap(str(p), rotation=1.0, exposure=0.5))
    assert _angle_deg(base.direction, _unit(30, 0)) < 2.0
    np.testing.assert_allclose(lit.direction, P.rot_z(1.0) @ base.direction, atol=1e-9)
    assert lit.irradiance == pytest.approx(0.5 * base.irradiance)
    cap = 2 * np.pi * (1 - math.cos(math.radians(5.0)))
    assert base.share == pytest.approx(799.8 * cap / (799.8 * cap + 0.2 * 4 * np.pi), rel=0.03)
    # the SH hold the sky only (light removed): about pi * 0.2 for every normal
    n = np.random.default_rng(9).normal(size=(20, 3))
    np.testing.assert_allclose(P.sh_irradiance(base.sh, n), np.pi * 0.2, rtol=0.03)
    np.testing.assert_allclose(lit.sh, 0.5 * P.sh9(P.dominant_light(P.load_panorama(p, max_width=1024))
                                                   .pano_without, 1.0), rtol=1e-9)
    with pytest.raises(ConfigError):
        P.Envmap(str(p), exposure=0.0)
    with pytest.raises(ConfigError):
        P.Envmap(str(p), rotation=float("nan"))


# ---------------------------------------------------------------------------------------------- shared bank
def test_shared_panorama_bank(shared):
    folder = shared / "textures" / "panoramas"
    if not folder.is_dir():
        pytest.skip("../shared/textures/panoramas is absent")
    paths = P.list_panoramas(folder)
    assert len(paths) >= 8
    t0 = time.perf_counter()
    found = {}
    for p in paths:
        pano = P.load_panorama(p, max_width=1024)
        light = P.dominant_light(pano)
        share = 1 - P.sphere_integral(light.pano_without) / P.sphere_integral(pano)
        found[p.stem] = (light, share)
        assert light.irradiance > 0 and 0 < share < 1
        assert 0.05 < P.auto_exposure(pano) < 20
    assert time.perf_counter() - t0 < 60
    for sunny in ("chinese_garden_1k", "noon_grass_1k"):                  # the sun: most of the energy, up high
        if sunny in found:
            light, share = found[sunny]
            assert share > 0.5 and light.direction[2] > math.sin(math.radians(20))


def test_modules_are_engine_free():
    """Importing and using both modules pulls in no engine (pyrender, OpenGL, pybullet, torch)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from simgen.scene import panorama as P, texture_bank as tb\n"
            "p = np.ones((8, 16, 3), np.float32); P.dominant_light(p); P.sh9(p)\n"
            "P.background(p, np.array([[10., 0, 5], [0, 10., 5], [0, 0, 1]]), np.eye(4), 10, 10)\n"
            "tb.planar_uv(np.zeros((2, 2)), 1.0)\n"
            "bad = [m for m in ('pyrender', 'OpenGL', 'pybullet', 'torch') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
