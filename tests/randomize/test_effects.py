"""Image-space families without GL: depth-aware weather, defects on a hand-built frame, sensor, geometry helpers."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.core.geometry import look_at_cv
from simgen.core.dist import Dist
from simgen.randomize.families.defects import DefectsConfig
from simgen.randomize.families.sensor import SensorConfig
from simgen.randomize.families.weather import WeatherConfig
from simgen.scene.model import Camera, Light, ObjectInstance, Scene

W, H = 160, 120


def _camera(eye=(0.0, -0.6, 0.6)) -> Camera:
    return Camera(fx=150.0, fy=150.0, cx=80.0, cy=60.0, width=W, height=H, znear=0.05, zfar=20.0,
                  T_world_cam=look_at_cv(np.array(eye), np.zeros(3)))


def _ground_depth(cam: Camera) -> np.ndarray:
    """Depth (H, W) of the plane z = 0 seen by ``cam`` (0 above the horizon)."""
    from simgen.core.imaging import pixel_rays

    R, t = cam.T_world_cam[:3, :3], cam.T_world_cam[:3, 3]
    d = pixel_rays(cam) @ R.T
    s = np.where(d[..., 2] < -1e-6, -t[2] / np.minimum(d[..., 2], -1e-6), 0.0)
    return s.astype(np.float32)


def _scene(cam, lights=None) -> Scene:
    if lights is None:
        T = look_at_cv(np.array([0.5, 0.3, 1.0]), np.zeros(3)) @ np.diag([1.0, -1.0, -1.0, 1.0])
        lights = [Light("directional", np.ones(3), 3.0, T)]
    return Scene(objects=[], camera=cam, lights=lights, ambient=np.full(3, 0.3), bg_color=np.zeros(3))


def test_normals_from_depth_of_a_plane_point_up_and_windows_match():
    from simgen.core.imaging import normals_from_depth

    cam = _camera()
    depth = _ground_depth(cam)
    n = normals_from_depth(depth, cam)
    nw = n @ cam.T_world_cam[:3, :3].T
    valid = depth > 0
    assert valid.mean() > 0.5
    assert np.allclose(nw[valid][:, 2], 1.0, atol=1e-3)
    assert (np.linalg.norm(n[~valid], axis=1) == 0).all()
    win = normals_from_depth(depth[50:90, 40:100], cam, 40, 50)
    assert np.allclose(win[1:-1, 1:-1], n[51:89, 41:99], atol=1e-5)


def test_kelvin_colours():
    from simgen.core.imaging import kelvin_to_rgb

    warm, white, cold = kelvin_to_rgb(2000), kelvin_to_rgb(6600), kelvin_to_rgb(12000)
    assert warm[0] == 1.0 and warm[2] < 0.3
    assert cold[2] == 1.0 and cold[0] < 0.9
    assert np.allclose(white, 1.0, atol=0.05)


def test_fog_brings_far_pixels_closer_to_the_fog_colour_than_near_ones():
    from simgen.randomize.families import weather

    cam = _camera()
    depth = _ground_depth(cam)
    rgb = np.full((H, W, 3), 40, np.uint8)
    cfg = WeatherConfig(enabled=True, kind=Dist("const", value="fog"), fog_visibility=Dist("const", value=4.0),
                        fog_brightness=Dist("const", value=0.8))
    out = weather.apply(rgb, depth, _scene(cam), cfg, [0, 0, 0], np.random.default_rng(0)).astype(float)
    fog = np.array([0.97, 0.98, 1.0]) * 0.8 * 255
    dist = np.abs(out - fog).sum(2)
    rows = [r for r in range(H) if (depth[r] > 0).all()]
    near, far = rows[-1], rows[0]  # the ground recedes towards the top of the image
    assert depth[near].mean() < depth[far].mean()
    assert dist[far].mean() < dist[near].mean() - 10
    assert np.allclose(out[depth == 0], fog, atol=1.0)  # nothing rendered = infinitely far = all fog
    col = dist[:, W // 2][depth[:, W // 2] > 0]
    assert (np.diff(col) >= -1.0).all()  # monotonic: nearer rows (further down) keep more of the scene


def test_particles_are_hidden_behind_nearer_geometry():
    from simgen.randomize.families.weather import _depth_layers

    depth = np.full((H, W), 10.0, np.float32)
    depth[:, : W // 2] = 0.2  # a near wall on the left half
    z = np.linspace(0.5, 3.0, 50)

    def draw(layer, idx):
        layer[:] = 1.0  # every particle everywhere

    a = _depth_layers(None, depth, z, draw)
    assert (a[:, : W // 2] == 0).all() and (a[:, W // 2:] == 1).all()
    depth[:] = 0  # nothing rendered: particles everywhere
    assert (_depth_layers(None, depth, z, draw) == 1).all()


@pytest.mark.parametrize("kind", ["rain", "snow", "haze", "low_light"])
def test_weather_kinds_change_the_image_deterministically(kind):
    from simgen.randomize.families import weather

    cam = _camera()
    depth = _ground_depth(cam)
    rgb = np.random.default_rng(1).integers(60, 200, (H, W, 3)).astype(np.uint8)
    cfg = WeatherConfig(enabled=True, kind=Dist("const", value=kind))
    a = weather.apply(rgb, depth, _scene(cam), cfg, [0, 0, 0], np.random.default_rng(5))
    b = weather.apply(rgb, depth, _scene(cam), cfg, [0, 0, 0], np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape == rgb.shape and np.array_equal(a, b)
    assert np.abs(a.astype(int) - rgb).mean() > 2
    if kind == "snow":  # up-facing ground whitened
        assert a[depth > 0].mean() > rgb[depth > 0].mean() + 5
    if kind == "low_light":
        assert a.mean() < rgb.mean() * 0.8


def test_sensor_identity_settings_and_strong_noise():
    from simgen.randomize.families import sensor

    rgb = np.random.default_rng(2).integers(0, 256, (H, W, 3)).astype(np.uint8)
    zero = Dist("const", value=0.0)
    ident = SensorConfig(enabled=True, exposure_ev=zero, defocus_probability=zero, motion_blur_probability=zero,
                         shot_noise_probability=zero, read_noise=zero, gamma=Dist("const", value=1.0),
                         jpeg_probability=zero)
    out = sensor.apply(rgb, ident, np.random.default_rng(0))
    assert np.abs(out.astype(int) - rgb).max() <= 1
    one = Dist("const", value=1.0)
    noisy = SensorConfig(enabled=True, defocus_probability=one, motion_blur_probability=one,
                         shot_noise_probability=one, jpeg_probability=one, read_noise=Dist("const", value=3.0))
    a = sensor.apply(rgb, noisy, np.random.default_rng(3))
    assert np.array_equal(a, sensor.apply(rgb, noisy, np.random.default_rng(3)))
    assert not np.array_equal(a, sensor.apply(rgb, noisy, np.random.default_rng(4)))
    assert np.abs(np.diff(a.astype(float), axis=1)).mean() < np.abs(np.diff(rgb.astype(float), axis=1)).mean()


def test_fast_normal_and_to_u8():
    from simgen.core.imaging import fast_normal, to_u8

    z = fast_normal(np.random.default_rng(0), (300, 400, 3))
    assert z.dtype == np.float32 and z.shape == (300, 400, 3)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01 and 0.9 < (np.abs(z) < 1).mean() / 0.6827 < 1.05
    assert np.array_equal(z, fast_normal(np.random.default_rng(0), (300, 400, 3)))
    x = np.array([-3.0, -0.4, 0.2, 0.6, 127.49, 254.6, 300.0, 1e9], np.float32)
    assert to_u8(x).tolist() == [0, 0, 0, 1, 127, 255, 255, 255]
    assert x[0] == -3.0  # input untouched


@pytest.mark.parametrize("photons", [20.0, 600.0])  # exact Poisson (few photons) and its Gaussian limit
def test_low_light_counts_have_poisson_mean_and_variance(photons):
    from simgen.randomize.families import weather
    from simgen.core.imaging import srgb_to_linear

    rgb = np.full((200, 300, 3), 180, np.uint8)
    c = lambda v: Dist("const", value=v)  # noqa: E731
    cfg = WeatherConfig(enabled=True, low_light_gain=c(1.0), low_light_photons=c(photons),
                        low_light_read_noise=c(0.0))
    out = weather.low_light(rgb, cfg, np.random.default_rng(0))
    lam = float(srgb_to_linear(np.uint8([180]))[0]) * photons
    counts = (np.clip(out, 0, 255) / 255.0) ** 2.2 * photons  # back to photon counts (up to 8-bit rounding)
    assert counts.mean() == pytest.approx(lam, rel=0.03)
    assert counts.var() == pytest.approx(lam, rel=0.15)


def _defect_frame():
    """A 6 cm box lying on the ground, seen from above at an angle: depth, ids (object id 1), scene, catalog."""
    import trimesh

    from simgen.labels.extract import extract
    from simgen.scene.catalog import AssetCatalog, mesh_from_trimesh

    cam = _camera((0.0, -0.25, 0.35))
    depth = _ground_depth(cam)
    ids = np.zeros((H, W), np.int32)
    ids[35:85, 50:115] = 1  # the object's visible pixels (flat top face in the ground plane)
    ids[60:70, 105:115] = 0  # a notch: something in front
    m = mesh_from_trimesh("box", trimesh.creation.box(extents=[0.06, 0.06, 0.01]), texture=None, uv=None,
                          base_color=[0.6, 0.6, 0.6], metallic=0.8, roughness=0.3, source="box")
    cat = AssetCatalog({"box": m}, ["box"])
    scene = _scene(cam)
    scene.objects = [ObjectInstance(1, "box", "part", 1.0, np.eye(4))]
    inst = extract(ids, {1: "part"}, {}, {})
    return depth, ids, scene, cat, inst


@pytest.mark.parametrize("kind", ["scratch", "dent", "crack", "rust", "stain"])
def test_defect_masks_lie_inside_their_object_and_cover_every_changed_pixel(kind):
    from simgen.randomize.families import defects

    depth, ids, scene, cat, inst = _defect_frame()
    rgb = np.full((H, W, 3), 120, np.uint8)
    rgb[ids == 1] = 150
    cfg = DefectsConfig(enabled=True, probability=Dist("const", value=1.0), kind=Dist("const", value=kind),
                        per_object=Dist("const", value=3), size=Dist("uniform", low=0.4, high=0.6),
                        strength=Dist("const", value=1.0))
    n_found = 0
    for seed in range(4):
        out, extra = defects.apply(rgb, depth, ids, scene, inst, cfg, cat, np.random.default_rng(seed))
        union = np.zeros((H, W), bool)
        for d, cat_name in extra:
            assert cat_name == kind and d.category == kind
            m = d.full_mask(H, W)
            assert m.sum() == d.area >= cfg.min_area
            assert not (m & (ids != 1)).any()  # inside the object's visible mask
            assert defects.parent_instance_id(d.instance_id) == 1
            ys, xs = np.nonzero(m)
            assert d.bbox_xywh == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
            assert 0 < d.visibility <= 1
            union |= m
        changed = (out != rgb).any(2)
        assert not (changed & ~union).any()  # nothing drawn that is not labelled
        n_found += len(extra)
    assert n_found >= 4


# ---------------------------------------------------------------------- noise, tables and the fast paths

def _sensor_cfg(**kw):
    zero, one = Dist("const", value=0.0), Dist("const", value=1.0)
    base = dict(enabled=True, exposure_ev=zero, defocus_probability=zero, motion_blur_probability=zero,
                shot_noise_probability=zero, read_noise=zero, gamma=one, jpeg_probability=zero)
    base.update({k: (v if isinstance(v, Dist) else Dist("const", value=v)) for k, v in kw.items()})
    return SensorConfig(**base)


def _sensor_reference(rgb, ev, gamma, kernel=None):
    """The sensor without noise, in float64: exposure, optional blur, clip, gamma, rounding."""
    import cv2

    lin = (rgb.astype(np.float64) / 255.0) ** 2.2 * 2.0 ** ev
    if kernel is not None:
        lin = cv2.filter2D(lin, -1, kernel.astype(np.float64), borderType=cv2.BORDER_REFLECT)
    return np.floor(np.clip(lin, 0, 1) ** (1 / (2.2 * gamma)) * 255.0 + 0.5)


def test_normal_quantile_table_is_a_unit_gaussian():
    from simgen.core.imaging import NORMAL_Q, fast_normal

    q = NORMAL_Q.astype(np.float64)
    assert q.dtype == np.float64 and q.shape == (256,) and np.all(np.diff(q) > 0)
    assert abs(q.mean()) < 1e-6 and abs(q.std() - 1) < 1e-6 and 2.8 < (q ** 4).mean() < 3.0
    z = fast_normal(np.random.default_rng(7), (200, 300, 3)).astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs((np.abs(z) < 1).mean() - 0.6827) < 0.01 and abs((np.abs(z) < 2).mean() - 0.9545) < 0.01


@pytest.mark.parametrize("ev,gamma", [(0.0, 1.0), (0.7, 0.9), (-0.8, 1.1)])
def test_sensor_without_noise_matches_the_float_reference(ev, gamma):
    from simgen.randomize.families import sensor

    rgb = np.random.default_rng(2).integers(0, 256, (H, W, 3)).astype(np.uint8)
    out = sensor.apply(rgb, _sensor_cfg(exposure_ev=ev, gamma=gamma), np.random.default_rng(0))
    assert np.abs(out.astype(int) - _sensor_reference(rgb, ev, gamma)).max() <= 1
    blurred = sensor.apply(rgb, _sensor_cfg(exposure_ev=ev, gamma=gamma, defocus_probability=1.0,
                                            defocus_px=1.5 * 640 / W), np.random.default_rng(0))
    ref = _sensor_reference(rgb, ev, gamma, sensor.disk_kernel(1.5))
    assert np.abs(blurred.astype(int) - ref).max() <= 1


def test_sensor_fused_table_equals_the_float_path():
    from simgen.randomize.families import sensor
    from simgen.core.imaging import NORMAL_Q, noise_bytes, to_u8

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    level = (rng.random(256) * 255).astype(np.float32)
    shot_level = (rng.random((256, 256)) * 255).astype(np.float32)
    read_q = NORMAL_Q * np.float32(2.3)
    # the float formulas with the same bytes (drawn strip by strip: shot bytes, then read bytes)
    b, s = np.empty_like(rgb), np.empty_like(rgb)
    nrng = np.random.default_rng(9)
    for r0, r1, _, _ in sensor._strips(rgb.shape):
        b[r0:r1] = noise_bytes(nrng, rgb[r0:r1].shape)
    fused = sensor._table_noise(rgb, to_u8(level[:, None] + read_q[None, :]), np.random.default_rng(9))
    assert np.array_equal(fused, to_u8(level[rgb] + read_q[b]))
    nrng = np.random.default_rng(9)
    for r0, r1, _, _ in sensor._strips(rgb.shape):
        s[r0:r1] = noise_bytes(nrng, rgb[r0:r1].shape)
        b[r0:r1] = noise_bytes(nrng, rgb[r0:r1].shape)
    out = sensor._shot_read(rgb, shot_level, read_q, np.random.default_rng(9))
    assert np.array_equal(out, to_u8(shot_level[rgb, s] + read_q[b]))


def test_sensor_blur_in_strips_equals_blurring_the_whole_image():
    import cv2

    from simgen.randomize.families import sensor
    from simgen.core.imaging import _TO_LINEAR

    rgb = np.random.default_rng(4).integers(0, 256, (300, 200, 3)).astype(np.uint8)  # several strips
    for ks in ([sensor.disk_kernel(1.8)], [sensor.disk_kernel(3.5), sensor.line_kernel(14.0, 2.0)]):
        lin = _TO_LINEAR[rgb]
        for k in ks:
            lin = cv2.filter2D(lin, -1, k, borderType=cv2.BORDER_REFLECT)
        ref = np.floor(np.clip(np.clip(lin, 0, 1).astype(np.float64) ** 0.45 * 255 + 0.5, 0, 255))
        out = sensor._blur_gamma_noise(rgb, _TO_LINEAR, ks, 0.45, None, None, np.random.default_rng(0))
        assert np.abs(out - ref).max() <= 1


@pytest.mark.parametrize("blur", [False, True])
def test_sensor_read_noise_has_the_configured_std_and_no_bias(blur):
    from simgen.randomize.families import sensor

    rgb = np.full((240, 320, 3), 128, np.uint8)  # flat: blur leaves it unchanged (reflected border)
    kw = dict(defocus_probability=1.0, defocus_px=1.5) if blur else {}
    clean = sensor.apply(rgb, _sensor_cfg(**kw), np.random.default_rng(0)).astype(np.float64)
    assert np.ptp(clean) == 0
    for read in (1.5, 3.0):
        out = sensor.apply(rgb, _sensor_cfg(read_noise=read, **kw), np.random.default_rng(1)).astype(np.float64)
        d = out - clean
        assert abs(d.std() - np.hypot(read, np.sqrt(1 / 12))) < 0.05 * read  # + the final rounding
        assert abs(d.mean()) < 0.02
        assert np.array_equal(out, sensor.apply(rgb, _sensor_cfg(read_noise=read, **kw), np.random.default_rng(1)))
        assert not np.array_equal(out, sensor.apply(rgb, _sensor_cfg(read_noise=read, **kw),
                                                    np.random.default_rng(2)))


@pytest.mark.parametrize("blur", [False, True])
def test_sensor_shot_noise_has_the_poisson_std_in_linear_light(blur):
    from simgen.randomize.families import sensor

    value, photons = 100, 800.0
    rgb = np.full((240, 320, 3), value, np.uint8)
    kw = dict(shot_noise_probability=1.0, photons=photons)
    if blur:
        kw.update(defocus_probability=1.0, defocus_px=1.5)
    out = sensor.apply(rgb, _sensor_cfg(**kw), np.random.default_rng(4)).astype(np.float64)
    lin = (value / 255.0) ** 2.2
    counts = (out / 255.0) ** 2.2 * photons  # back to photon counts (up to 8-bit rounding)
    assert counts.mean() == pytest.approx(lin * photons, rel=0.02)
    assert counts.std() == pytest.approx(np.sqrt(lin * photons), rel=0.05)
    assert np.array_equal(out, sensor.apply(rgb, _sensor_cfg(**kw), np.random.default_rng(4)))


def test_low_light_read_noise_and_large_photon_counts():
    from simgen.randomize.families import weather

    rgb = np.full((200, 300, 3), 128, np.uint8)
    c = lambda v: Dist("const", value=v)  # noqa: E731
    # 10^6 photons (the windowed Poisson sum): shot noise 0.12 grey levels, the read noise dominates
    cfg = WeatherConfig(enabled=True, low_light_gain=c(1.0), low_light_photons=c(1e6), low_light_read_noise=c(3.0))
    out = weather.low_light(rgb, cfg, np.random.default_rng(0)).astype(np.float64)
    assert out.mean() == pytest.approx(128.0, abs=0.03)
    assert out.std() == pytest.approx(3.0, rel=0.05)
    assert np.array_equal(out, weather.low_light(rgb, cfg, np.random.default_rng(0)))


@pytest.mark.parametrize("photons,gain,read", [(150.0, 0.12, 1.0), (800.0, 0.35, 4.0), (5e4, 0.3, 2.0)])
def test_low_light_level_distributions_match_monte_carlo(photons, gain, read):
    from simgen.randomize.families.weather import _low_light_pmf
    from simgen.core.imaging import _TO_LINEAR

    lam = _TO_LINEAR.astype(np.float64) * gain * photons
    P = _low_light_pmf(lam, photons, read)
    assert P.shape == (256, 256) and np.allclose(P.sum(1), 1.0) and (P >= -1e-15).all()
    j = np.arange(256)
    rng = np.random.default_rng(0)
    for v in (0, 12, 90, 200, 255):
        k = rng.poisson(lam[v], 200_000)
        y = np.floor(255 * np.minimum(k / photons, 1) ** (1 / 2.2) + 0.5) + read * rng.standard_normal(k.size)
        mc = np.clip(np.floor(y + 0.5), 0, 255)
        mean, var = P[v] @ j, P[v] @ j ** 2 - (P[v] @ j) ** 2
        assert mean == pytest.approx(mc.mean(), abs=0.05 + 0.01 * mc.std())
        assert var == pytest.approx(mc.var(), rel=0.03, abs=0.01)


def test_quantile_table_and_read_noise_convolution():
    from simgen.core.imaging import add_read_noise, quantile_table, rounding_matrix

    rng = np.random.default_rng(5)
    pmf = rng.random((7, 256)) ** 6
    pmf /= pmf.sum(1, keepdims=True)
    for bits in (8, 12):
        T = quantile_table(pmf, bits)
        assert T.shape == (7, 1 << bits) and T.dtype == np.uint8 and (np.diff(T.astype(int), axis=1) >= 0).all()
        freq = np.stack([np.bincount(t, minlength=256) for t in T]) / (1 << bits)
        assert np.abs(freq - pmf).max() <= 1.0 / (1 << bits)
    for sigma in (0.0, 0.3, 2.5, 6.0):
        assert np.allclose(add_read_noise(pmf, sigma), pmf @ rounding_matrix(sigma), atol=1e-12)


def test_facing_world_xy_and_world_noise_match_the_reference_forms():
    from simgen.core.imaging import (backproject, facing, normals_from_depth, world_noise, world_noise_xy,
                                          world_up_in_camera, world_xy)

    cam = _camera((0.2, -0.5, 0.4))
    depth = _ground_depth(cam)
    depth[40:70, 60:100] *= 0.8  # a raised block: silhouettes
    up = world_up_in_camera(cam)
    f = facing(depth, cam, up)
    assert f.dtype == np.float32 and f.shape == depth.shape
    assert np.allclose(f, normals_from_depth(depth, cam) @ up.astype(np.float32), atol=1e-5)
    P = backproject(depth, cam) @ cam.T_world_cam[:3, :3].T + cam.T_world_cam[:3, 3]
    x, y = world_xy(depth, cam)
    assert np.allclose(x, P[..., 0], atol=1e-5) and np.allclose(y, P[..., 1], atol=1e-5)
    grid = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    assert np.abs(world_noise_xy(x, y, grid, 0.013) - world_noise(P, grid, 0.013)).max() < 0.02


def test_blend_matches_the_float_formula():
    from simgen.randomize.families.weather import blend

    rng = np.random.default_rng(6)
    rgb = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    s, w1, w2 = (rng.random((H, W), dtype=np.float32) * 0.5 for _ in range(3))
    c1, c2 = np.array([240.0, 244.0, 250.0]), np.array([10.0, 100.0, 200.0])
    ref = rgb * s[..., None].astype(np.float64) + w1[..., None] * c1 + w2[..., None] * c2
    out = blend(rgb, s, [(w1, c1), (w2, c2)])
    assert out.dtype == np.uint8 and np.abs(out - np.clip(ref, 0, 255)).max() <= 0.5 + 1e-3


def test_backdrop_composite_fills_only_empty_pixels(tmp_path):
    import cv2

    from simgen.randomize.families import background

    img = np.random.default_rng(0).integers(0, 256, (90, 130, 3)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "b.png"), img)
    cam = _camera()
    depth = _ground_depth(cam)
    rgb = np.full((H, W, 3), 7, np.uint8)
    scene = _scene(cam)
    for crop in [(0.2, 0.7, 0.4, 0.9), (0.9, 0.1, 0.0, 0.1)]:  # the second one mirrored
        scene.params["background_image"] = (str(tmp_path / "b.png"), crop)
        out = background.composite(rgb, depth, scene)
        bd = background.backdrop(tmp_path / "b.png", W, H, crop)
        assert out.flags.writeable and not bd.flags.writeable and rgb.max() == 7
        assert np.array_equal(out[depth > 0], rgb[depth > 0]) and np.array_equal(out[depth <= 0], bd[depth <= 0])


def test_sharpening_crispens_edges_keeps_flat_areas_and_draws_nothing_when_off():
    import cv2

    from simgen.randomize.families import sensor

    rgb = np.full((96, 640, 3), 60, np.uint8)  # sizes are given for a 640-wide image
    rgb[:, 64:] = 190  # one vertical edge
    rgb = cv2.GaussianBlur(rgb, (0, 0), 1.0)
    sharp = sensor.apply(rgb, _sensor_cfg(sharpen_probability=1.0, sharpen_amount=1.0, sharpen_sigma_px=1.0),
                         np.random.default_rng(0))
    grad = lambda im: np.abs(np.diff(im[48].astype(int), axis=0)).max()  # noqa: E731
    assert grad(sharp) > grad(rgb) * 1.2  # steeper edge
    assert sharp[:, 60:68].min() < rgb[:, 60:68].min() and sharp[:, 60:68].max() > rgb[:, 60:68].max()  # halos
    assert np.array_equal(sharp[:, :20], rgb[:, :20]) and np.array_equal(sharp[:, -20:], rgb[:, -20:])  # flat
    # amount 0 / probability 0: the image and the rng's later draws are those of a sensor without sharpening
    for off in (dict(sharpen_probability=0.0), dict(sharpen_probability=1.0, sharpen_amount=0.0)):
        assert np.array_equal(sensor.apply(rgb, _sensor_cfg(**off), np.random.default_rng(0)), rgb)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    sensor.apply(rgb, _sensor_cfg(read_noise=2.0), r1)
    sensor.apply(rgb, _sensor_cfg(read_noise=2.0, sharpen_probability=0.0), r2)
    assert r1.random() == r2.random()
