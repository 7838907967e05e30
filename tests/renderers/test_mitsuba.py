"""Path-traced colour (Mitsuba 3): pixel alignment with the raster path, the panorama convention, determinism,
light units, denoising and one-line errors. Tiny images, few samples; skipped without mitsuba."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("mitsuba")

from simgen.errors import AssetError, ConfigError, RenderError, SimgenError  # noqa: E402
from simgen.core.geometry import look_at_cv, pose  # noqa: E402
from simgen.renderers.mitsuba import MitsubaColourRenderer  # noqa: E402
from simgen.renderers.mitsuba import convert  # noqa: E402
from simgen.scene.catalog import AssetCatalog, MeshData  # noqa: E402
from simgen.scene.model import Camera, Light, ObjectInstance, Scene  # noqa: E402
from simgen.scene.spec import scene_from_dict  # noqa: E402

W, H = 160, 120


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    spec = scene_from_dict({"objects": [
        {"category": "box", "shape": "box", "size": [0.06, 0.04, 0.03], "count": [1, 3]},
        {"category": "ball", "shape": "sphere", "size": [0.03], "count": [1, 2]},
        {"category": "can", "shape": "cylinder", "size": [0.025, 0.07], "count": [1, 2], "texture": "checker",
         "color": [0.8, 0.3, 0.2]},
    ], "surface": {"size": [0.6, 0.5], "texture": "wood"}})
    return AssetCatalog.from_spec(spec, Path("."))


def _camera(eye=(0.13, -0.17, 0.24), target=(0.0, 0.0, 0.02), w=W, h=H) -> Camera:
    # principal point off the image centre on purpose: the path tracer must honour it
    return Camera(fx=150.0 * w / W, fy=150.0 * w / W, cx=w / 2 + 7.3, cy=h / 2 - 4.6, width=w, height=h,
                  znear=0.05, zfar=5.0, T_world_cam=look_at_cv(eye, target))


def _objects(cat: AssetCatalog) -> list[ObjectInstance]:
    k = cat.object_keys
    a = 0.6
    Rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    return [ObjectInstance(1, k[0], "box", 1.0, pose(Rz, [-0.06, 0.03, 0.015])),
            ObjectInstance(2, k[1], "ball", 1.2, pose(np.eye(3), [0.07, 0.04, 0.036])),
            ObjectInstance(3, k[2], "can", 1.0, pose(np.eye(3), [0.0, -0.07, 0.035]),
                           color_factor=np.array([1.2, 0.8, 1.0, 1.0])),
            ObjectInstance(4, k[0], None, 0.8, pose(Rz.T, [0.09, -0.05, 0.012]), metallic=1.0, roughness=0.2)]


def _scene(cat, objects=None, lights=None, ambient=0.3, env=True, camera=None) -> Scene:
    light = Light("directional", np.ones(3), 2.0, pose(np.eye(3), [0, 0, 1]))
    return Scene(objects=_objects(cat) if objects is None else objects, camera=camera or _camera(),
                 lights=[light] if lights is None else lights, ambient=np.full(3, ambient),
                 bg_color=np.array([0.1, 0.2, 0.3]),
                 environment=[("__surface__", np.eye(4))] if env else [])


@pytest.fixture(scope="module")
def mr(catalog):
    with MitsubaColourRenderer(W, H, spp=4, max_depth=3) as r:
        r.prepare(catalog)
        yield r


# ---------------------------------------------------------------------------------------------- alignment
@pytest.mark.gl
def test_silhouettes_agree_with_pyrender(catalog, mr):
    """Objects alone (no table), both renderers: the path tracer's coverage (alpha) against the raster id pass."""
    from simgen.renderers.pyrender.backend import PyrenderRenderer

    scene = _scene(catalog, env=False)
    with PyrenderRenderer(W, H) as pr:
        pr.prepare(catalog, {k: 3 for k in catalog.object_keys}, {"__surface__": 1})
        frame = pr.render(scene)
    raster = frame.instance_ids > 0
    traced = mr.render_layers(scene, seed=3)["alpha"] >= 0.5
    inter, union = np.logical_and(raster, traced).sum(), np.logical_or(raster, traced).sum()
    assert raster.sum() > 0.1 * W * H
    assert inter / union > 0.98, inter / union
    # sub-pixel: the silhouettes' centroids agree (a wrong principal-point sign would move them by ~7 px)
    cr = np.argwhere(raster).mean(0)
    ct = np.argwhere(traced).mean(0)
    assert np.abs(cr - ct).max() < 0.2, (cr, ct)
    # and each object's silhouette separately
    for iid in (1, 2, 3, 4):
        m = frame.instance_ids == iid
        if m.sum() > 50:
            assert (traced & m).sum() / m.sum() > 0.95


def test_textures_and_colour_factor_reach_the_image(catalog, mr):
    objs = _objects(catalog)
    rgb1 = mr.render(_scene(catalog, objs), seed=1)
    objs[2].color_factor = np.array([0.2, 0.2, 1.0, 1.0])
    rgb2 = mr.render(_scene(catalog, objs), seed=1)
    diff = np.abs(rgb1.astype(int) - rgb2.astype(int)).sum(-1) > 30
    assert diff.sum() > 100  # the can changed colour...
    ys = np.nonzero(diff)[0]
    assert ys.mean() > H / 2  # ...and it is the can (lower half of the view)
    # the same override removed again: the asset's own colour comes back (not the previous sample's)
    objs[2].color_factor = None
    objs[3].metallic = None
    rgb3 = mr.render(_scene(catalog, objs), seed=1)
    objs3 = _objects(catalog)
    objs3[2].color_factor = None
    objs3[3].metallic = None
    with MitsubaColourRenderer(W, H, spp=4, max_depth=3) as fresh:
        fresh.prepare(catalog)
        assert np.array_equal(fresh.render(_scene(catalog, objs3), seed=1), rgb3)


# ---------------------------------------------------------------------------------------------- panorama
def _write_hdr(path: Path, h: int = 64) -> np.ndarray:
    import cv2

    w = 2 * h
    v, u = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    img = np.stack([0.2 + 1.5 * u, 0.3 + 0.8 * (1 - v), 0.4 + 0.6 * np.cos(2 * np.pi * u) ** 2], -1)
    img[h // 2 - 6:h // 2 + 6, w // 4 - 8:w // 4 + 8] = [4.0, 0.5, 0.2]  # a bright patch (sun)
    img = img.astype(np.float32)
    assert cv2.imwrite(str(path), img[..., ::-1])
    return convert.load_hdr(path)  # what RGBE keeps


class _Env:
    def __init__(self, path, rotation, exposure):
        self.path, self.rotation, self.exposure = str(path), rotation, exposure


def test_envmap_convention_matches_numpy_reference(catalog, tmp_path):
    """No objects: Mitsuba's own envmap emitter, seen directly, equals the reference lookup of the convention."""
    hdr = _write_hdr(tmp_path / "pano.hdr")
    rotation, exposure = 0.7, 0.35
    cam = Camera(fx=60.0, fy=60.0, cx=W / 2 + 5.0, cy=H / 2 - 3.0, width=W, height=H, znear=0.05, zfar=5.0,
                 T_world_cam=look_at_cv((0, 0, 0), (0.3, 1.0, 0.35)))
    scene = _scene(catalog, objects=[], env=False, camera=cam)
    scene.envmap = _Env(tmp_path / "pano.hdr", rotation, exposure)
    with MitsubaColourRenderer(W, H, spp=16, max_depth=2, show_envmap=True) as r:
        r.prepare(catalog)
        got = r.render(scene, seed=0).astype(np.float64)
        composited = r.render_layers(scene, seed=0)["background"]
    want = convert.display_transform(convert.envmap_background(hdr, cam, rotation, exposure)).astype(np.float64)
    err = np.abs(got - want).mean()
    assert err < 1.5, err
    # the test can fail: a wrong rotation or a mirrored map is far off
    for wrong in (rotation + 0.2, -rotation):
        bad = convert.display_transform(convert.envmap_background(hdr, cam, wrong, exposure)).astype(np.float64)
        assert np.abs(got - bad).mean() > 4 * err + 2
    # the default (composited) background is the reference itself
    assert np.array_equal(convert.display_transform(composited), want.astype(np.uint8))


def test_envmap_lookup_convention_axes():
    """Rotation 0: the centre column is +x, the top row the zenith; a rotation turns the map about +z."""
    h = 8
    hdr = np.zeros((h, 2 * h, 3), np.float32)
    hdr[..., 0] = np.arange(2 * h)[None, :]  # column index
    hdr[..., 1] = np.arange(h)[:, None]  # row index
    d = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 0, -1.0], [0, 1.0, 0]])
    out = convert.envmap_lookup(hdr, d, 0.0)
    assert out[0, 0] == pytest.approx(2 * h * 0.5 - 0.5)  # +x: u = 0.5
    assert out[1, 1] == pytest.approx(0.0) and out[2, 1] == pytest.approx(h - 1)  # zenith top, nadir bottom
    assert out[3, 0] == pytest.approx(2 * h * 0.25 - 0.5)  # +y: phi = pi/2 -> u = 0.25
    # rotating the map by +pi/2 brings what was at +x to +y
    assert convert.envmap_lookup(hdr, d[3:], np.pi / 2)[0, 0] == pytest.approx(out[0, 0])


# ---------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes(catalog, mr):
    scene = _scene(catalog)
    a = mr.render(scene, seed=11)
    b = mr.render(scene, seed=11)
    c = mr.render(scene, seed=12)
    assert a.dtype == np.uint8 and a.shape == (H, W, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # another scene in between (other poses, fewer objects) does not leak into the next render
    mr.render(_scene(catalog, _objects(catalog)[:1], ambient=0.8), seed=5)
    assert np.array_equal(mr.render(scene, seed=11), a)


def test_pools_grow_for_more_objects_and_lights(catalog, mr):
    objs = _objects(catalog)
    more = objs + [ObjectInstance(5, catalog.object_keys[1], "ball", 0.7, pose(np.eye(3), [-0.1, -0.08, 0.02]))]
    lights = [Light("point", np.array([1.0, 0.9, 0.8]), 0.5, pose(np.eye(3), [0.1, 0.1, 0.4])),
              Light("spot", np.ones(3), 1.0, pose(np.eye(3), [0.0, 0.0, 0.5]), 0.2, 0.5),
              Light("directional", np.ones(3), 1.0, pose(np.eye(3), [0, 0, 1]))]
    rgb = mr.render(_scene(catalog, more, lights=lights), seed=2)
    assert rgb.mean() > 5


# ---------------------------------------------------------------------------------------------- light units
@pytest.fixture(scope="module")
def plane_catalog() -> AssetCatalog:
    import trimesh

    tm = trimesh.creation.box(extents=[4.0, 4.0, 0.02])
    tm.apply_translation([0, 0, -0.01])
    m = MeshData(key="plane", vertices=np.asarray(tm.vertices, np.float32), faces=np.asarray(tm.faces, np.int32),
                 normals=np.asarray(tm.vertex_normals, np.float32), uv=None, texture=None,
                 base_color=np.array([0.6, 0.6, 0.6, 1.0], np.float32), metallic=0.0, roughness=1.0)
    return AssetCatalog({"plane": m}, [])


def _plane_radiance(cat, lights, ambient=0.0) -> float:
    cam = Camera(fx=100.0, fy=100.0, cx=20.0, cy=15.0, width=40, height=30, znear=0.05, zfar=10.0,
                 T_world_cam=look_at_cv((0, 0, 1.0), (0, 0, 0), up=(0, 1, 0)))
    scene = Scene(objects=[], camera=cam, lights=lights, ambient=np.full(3, ambient), bg_color=np.zeros(3),
                  environment=[("plane", np.eye(4))])
    with MitsubaColourRenderer(40, 30, spp=16, max_depth=2) as r:
        r.prepare(cat)
        lin = r.render_layers(scene, seed=0)["rgb"]
    return float(lin[10:20, 15:25].mean())


@pytest.mark.parametrize("theta", [0.0, 0.5, 1.0])
def test_directional_light_gives_albedo_over_pi_e_cos(plane_catalog, theta):
    E, albedo = 1.5, 0.6
    R = np.array([[1, 0, 0], [0, np.cos(theta), -np.sin(theta)], [0, np.sin(theta), np.cos(theta)]])
    got = _plane_radiance(plane_catalog, [Light("directional", np.ones(3), E, pose(R, [0, 0, 2]))])
    want = albedo / np.pi * E * np.cos(theta)
    # the principled BSDF is Lambertian up to its retro-reflection and a 4% specular lobe: +2..4% at 57 degrees
    assert got == pytest.approx(want, rel=0.05)


def test_point_light_inverse_square(plane_catalog):
    I, hgt, albedo = 0.8, 0.5, 0.6
    got = _plane_radiance(plane_catalog, [Light("point", np.ones(3), I, pose(np.eye(3), [0, 0, hgt]))])
    # the patch spans a small solid angle around the foot point: irradiance ~ I / h^2
    assert got == pytest.approx(albedo / np.pi * I / hgt ** 2, rel=0.05)


def test_spot_light_centre_and_cone(plane_catalog):
    I, hgt, albedo = 0.8, 0.5, 0.6
    spot = Light("spot", np.ones(3), I, pose(np.eye(3), [0, 0, hgt]), inner_cone=0.1, outer_cone=0.2)
    cam = Camera(fx=100.0, fy=100.0, cx=20.0, cy=15.0, width=40, height=30, znear=0.05, zfar=10.0,
                 T_world_cam=look_at_cv((0, 0, 1.0), (0, 0, 0), up=(0, 1, 0)))
    scene = Scene(objects=[], camera=cam, lights=[spot], ambient=np.zeros(3), bg_color=np.zeros(3),
                  environment=[("plane", np.eye(4))])
    with MitsubaColourRenderer(40, 30, spp=16, max_depth=2) as r:
        r.prepare(plane_catalog)
        lin = r.render_layers(scene, seed=0)["rgb"].mean(-1)
    # inside the inner cone (r < 0.05 m: 5 px around the centre) as a point light; outside the outer cone
    # (r > 0.1 m: 10 px) dark
    assert lin[13:17, 18:22].mean() == pytest.approx(albedo / np.pi * I / hgt ** 2, rel=0.05)
    assert lin[0:2, 0:4].max() < 1e-4  # (1e-6: the floor of the ambient map, see _set_environment)


def test_ambient_is_a_uniform_environment(plane_catalog):
    got = _plane_radiance(plane_catalog, [], ambient=0.5)
    assert got == pytest.approx(0.6 * 0.5, rel=0.1)  # pyrender: ambient x albedo


# ---------------------------------------------------------------------------------------------- denoise
def test_oidn_denoise_reduces_noise_deterministically(catalog):
    pytest.importorskip("pyoidn")
    scene = _scene(catalog)
    with MitsubaColourRenderer(W, H, spp=64, max_depth=3) as r:
        r.prepare(catalog)
        ref = r.render(scene, seed=100).astype(np.float64)
    with MitsubaColourRenderer(W, H, spp=2, max_depth=3) as r:
        r.prepare(catalog)
        noisy = r.render(scene, seed=1).astype(np.float64)
    with MitsubaColourRenderer(W, H, spp=2, max_depth=3, denoise="oidn", threads=2) as r:
        r.prepare(catalog)
        den = r.render(scene, seed=1)
        assert np.array_equal(den, r.render(scene, seed=1))
    den = den.astype(np.float64)
    assert np.abs(den - ref).mean() < 0.7 * np.abs(noisy - ref).mean()


# ---------------------------------------------------------------------------------------------- errors
def _one_line(exc: BaseException) -> None:
    assert isinstance(exc, SimgenError)
    assert "\n" not in str(exc) and len(str(exc)) < 300


def test_bad_inputs_give_one_line_errors(catalog, mr, tmp_path):
    m = catalog.meshes[catalog.object_keys[2]]
    bad = MeshData(key="bad", vertices=m.vertices, faces=m.faces, normals=m.normals, uv=None, texture=m.texture,
                   base_color=m.base_color)
    with pytest.raises(AssetError, match="no UV") as e:
        MitsubaColourRenderer(W, H, spp=1).prepare(AssetCatalog({"bad": bad}, ["bad"]))
    _one_line(e.value)
    nan = MeshData(key="nan", vertices=np.full((3, 3), np.nan, np.float32), faces=np.array([[0, 1, 2]], np.int32),
                   normals=np.zeros((3, 3), np.float32), uv=None, texture=None, base_color=np.ones(4))
    with pytest.raises(AssetError, match="NaN") as e:
        MitsubaColourRenderer(W, H, spp=1).prepare(AssetCatalog({"nan": nan}, ["nan"]))
    _one_line(e.value)
    for kw, err in (({"denoise": "magic"}, ConfigError), ({"spp": 0}, ConfigError),
                    ({"variant": "cuda_ad_rgb"}, ConfigError), ({"rfilter": "lanczos"}, ConfigError)):
        with pytest.raises(err) as e:
            MitsubaColourRenderer(W, H, **kw)
        _one_line(e.value)
    scene = _scene(catalog)
    scene.objects[0].asset_key = "missing"
    with pytest.raises(RenderError, match="not in the catalog") as e:
        mr.render(scene, seed=0)
    _one_line(e.value)
    with pytest.raises(RenderError, match="80x60") as e:
        mr.render(_scene(catalog, camera=_camera(w=80, h=60)), seed=0)
    _one_line(e.value)
    scene = _scene(catalog)
    scene.envmap = _Env(tmp_path / "nope.hdr", 0.0, 1.0)
    with pytest.raises(AssetError, match="not found") as e:
        mr.render(scene, seed=0)
    _one_line(e.value)
    (tmp_path / "flat.hdr").write_bytes(b"#?RADIANCE\nnot really\n")
    scene.envmap = _Env(tmp_path / "flat.hdr", 0.0, 1.0)
    with pytest.raises(AssetError) as e:
        mr.render(scene, seed=0)
    _one_line(e.value)
    # the renderer still works after the errors
    assert mr.render(_scene(catalog), seed=0).shape == (H, W, 3)


def test_variant_falls_back_when_llvm_is_too_old(monkeypatch):
    import drjit as dr

    from simgen.renderers.mitsuba import variant

    monkeypatch.setattr(dr.detail, "llvm_version", lambda: (15, 0, 6))
    try:
        assert variant.select_variant(None) == "scalar_rgb"
        with pytest.raises(RenderError, match="libllvm19") as e:
            variant.select_variant("llvm_ad_rgb")
        _one_line(e.value)
    finally:
        monkeypatch.undo()
        import mitsuba as mi

        mi.set_variant(variant.select_variant(None))


def test_scalar_variant_renders_deterministically(catalog):
    scene = _scene(catalog, camera=_camera(w=48, h=36))
    with MitsubaColourRenderer(48, 36, spp=2, max_depth=2, variant="scalar_rgb") as r:
        r.prepare(catalog)
        a = r.render(scene, seed=4)
        assert np.array_equal(a, r.render(scene, seed=4))
        assert a.mean() > 5
