"""Silhouette (bit) passes, back-face culling and the id pass's environment: exactness against the one-object-
at-a-time reference (EGL; Mesa llvmpipe works on CPU)."""

import numpy as np
import pytest

from simgen.core.geometry import look_at_cv, pose
from simgen.scene.model import Camera, Light, ObjectInstance, Scene
from simgen.scene.spec import scene_from_dict

W, H = 160, 120


def test_bit_counts_match_per_bit_masks():
    from simgen.renderers.pyrender.backend import _bit_colour, bit_counts

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    packed = bits[..., 0].astype(np.int64) | (bits[..., 1].astype(np.int64) << 8) | (bits[..., 2].astype(np.int64) << 16)
    want = [int(np.count_nonzero(packed & (1 << k))) for k in range(24)]
    assert bit_counts(bits, 24).tolist() == want
    assert bit_counts(bits, 5).tolist() == want[:5]
    # the colour of bit k sets exactly bit k
    for k in range(24):
        c = _bit_colour(k)
        assert c[0] | (c[1] << 8) | (c[2] << 16) == 1 << k


def test_is_closed():
    import trimesh

    from simgen.renderers.pyrender.backend import is_closed

    box = trimesh.creation.box(extents=[0.1, 0.2, 0.3])
    assert is_closed(box.vertices, box.faces)
    # split vertices (flat shading / uv seams) are merged before the test
    split = box.vertices[box.faces.ravel()]
    assert is_closed(split, np.arange(len(split)).reshape(-1, 3))
    assert not is_closed(box.vertices, box.faces[:, ::-1])  # inward faces
    assert not is_closed(box.vertices, box.faces[:-2])  # a hole
    quad = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    assert not is_closed(quad, np.array([[0, 1, 2], [0, 2, 3]]))


@pytest.fixture(scope="module")
def rig():
    from simgen.renderers.pyrender.backend import PyrenderRenderer
    from simgen.scene.catalog import AssetCatalog

    spec = scene_from_dict({"objects": [
        {"category": "box", "shape": "box", "size": [0.05, 0.04, 0.03], "count": [1, 30]},
        {"category": "ball", "shape": "sphere", "size": [0.03], "count": [1, 4]},
    ]})
    from pathlib import Path

    cat = AssetCatalog.from_spec(spec, Path("."))
    with PyrenderRenderer(W, H) as r:
        r.prepare(cat, {cat.object_keys[0]: 30, cat.object_keys[1]: 4}, {"__surface__": 1})
        yield r, cat


def _camera(eye=(0.25, -0.3, 0.45), target=(0.0, 0.0, 0.0)):
    return Camera(fx=150.0, fy=150.0, cx=W / 2 + 3.3, cy=H / 2 - 2.1, width=W, height=H, znear=0.05, zfar=5.0,
                  T_world_cam=look_at_cv(eye, target))


def _pile(cat, n_box: int, rng) -> list:
    objs = []
    for i in range(n_box):
        xy = rng.uniform(-0.12, 0.12, 2)
        a = rng.uniform(0, 2 * np.pi)
        R = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        objs.append(ObjectInstance(i + 1, cat.object_keys[0], "box", 1.0,
                                   pose(R, [xy[0], xy[1], rng.uniform(0.0, 0.08)])))
    for j in range(3):
        xy = rng.uniform(-0.1, 0.1, 2)
        objs.append(ObjectInstance(n_box + j + 1, cat.object_keys[1], None if j == 2 else "ball", 1.0,
                                   pose(np.eye(3), [xy[0], xy[1], 0.03])))
    return objs


def _scene(objs, camera=None, env=None):
    light = Light("directional", np.ones(3), 3.0, np.eye(4))
    return Scene(objects=objs, camera=camera or _camera(), lights=[light], ambient=np.full(3, 0.3),
                 bg_color=np.zeros(3), environment=env or [])


@pytest.mark.gl
@pytest.mark.parametrize("n_box", [4, 29])  # 29 + 3 balls: two passes of 24 bits
def test_silhouette_areas_equal_rendering_each_object_alone(rig, n_box):
    r, cat = rig
    scene = _scene(_pile(cat, n_box, np.random.default_rng(n_box)))
    frame = r.render(scene)
    nodes = r.id_nodes
    iids = sorted(nodes)
    totals, inside = r.silhouette_areas([nodes[i] for i in iids])
    alone = [int(r.render_alone(nodes[i]).sum()) for i in iids]
    assert totals == alone == inside
    assert sum(t > 0 for t in totals) >= len(iids) // 2
    # visible <= alone for every object, equality for some
    vis = [int((frame.instance_ids == i).sum()) for i in iids]
    assert all(v <= t for v, t in zip(vis, totals))
    # a wider camera and a window: the same as cropping each alone render
    c = scene.camera
    wide = Camera(fx=c.fx / 2, fy=c.fy / 2, cx=c.cx / 2 + W / 4, cy=c.cy / 2 + H / 4, width=W, height=H,
                  znear=c.znear, zfar=c.zfar, T_world_cam=c.T_world_cam)
    win = (W // 4, H // 4, W // 4 + W // 2, H // 4 + H // 2)
    totals, inside = r.silhouette_areas([nodes[i] for i in iids], wide, win)
    for i, t, n in zip(iids, totals, inside):
        m = r.render_alone(nodes[i], wide)
        assert (int(m.sum()), int(m[win[1]:win[3], win[0]:win[2]].sum())) == (t, n)
    # the camera intrinsics are restored
    frame2 = r.render(scene)
    assert np.array_equal(frame2.instance_ids, frame.instance_ids)


@pytest.mark.gl
def test_culling_keeps_ids_and_labels(rig):
    from simgen.labels.amodal import label_frame

    r, cat = rig
    scene = _scene(_pile(cat, 12, np.random.default_rng(7)))
    assert all(r._closed[n] for pool in r._pools.values() for n in pool)  # boxes, spheres, table: closed
    frame = r.render(scene)
    labels = label_frame(r, scene, frame, 0.0, 1)
    saved = dict(r._closed)
    try:
        for n in r._closed:
            r._closed[n] = False
            n.mesh.primitives[0].material.doubleSided = True
        frame2 = r.render(scene)
        labels2 = label_frame(r, scene, frame2, 0.0, 1)
    finally:
        r._closed.update(saved)
    assert np.array_equal(frame.instance_ids, frame2.instance_ids)
    assert [(i.instance_id, i.bbox_xywh, i.area, i.visibility, i.truncation) for i in labels] == \
           [(i.instance_id, i.bbox_xywh, i.area, i.visibility, i.truncation) for i in labels2]


@pytest.mark.gl
def test_environment_hides_what_it_covers_in_the_id_map(rig):
    """A box sunk halfway into the table: the id map (and the labels) show only the part above it."""
    from simgen.labels.amodal import label_frame
    from simgen.scene.catalog import SURFACE_KEY

    r, cat = rig
    surface_top = 0.01  # the default surface is a 0.02 m thick slab centred at z = 0 in its own frame
    box = ObjectInstance(1, cat.object_keys[0], "box", 1.0, pose(np.eye(3), [0.0, 0.0, surface_top]))
    cam = _camera(eye=(0.0, -0.35, 0.25))
    bare = _scene([box], cam)
    frame0 = r.render(bare)
    table = _scene([box], cam, env=[(SURFACE_KEY, pose(np.eye(3), [0.0, 0.0, 0.0]))])
    frame1 = r.render(table)
    a0 = int((frame0.instance_ids == 1).sum())
    a1 = int((frame1.instance_ids == 1).sum())
    assert 0.3 * a0 < a1 < 0.95 * a0  # the front face is half below the table top, the top face all above
    (inst,) = label_frame(r, table, frame1, 0.0, 1)
    assert inst.area == a1
    assert inst.visibility == pytest.approx(a1 / a0, abs=1e-3)


@pytest.mark.gl
def test_static_light_shader_matches_pyrenders_stock_shader(rig):
    """The colour pass compiled per light count gives pyrender's image (rounding aside) for every light mix."""
    from pyrender.shader_program import ShaderProgramCache

    from simgen.renderers.pyrender.patches import static_light_cache as _static_light_cache

    r, cat = rig
    rr = r._r._renderer
    objs = _pile(cat, 6, np.random.default_rng(3))
    up = pose(np.eye(3), [0.2, -0.2, 0.4])
    mixes = [["directional"], ["point", "point", "spot"], ["directional", "point", "spot", "spot"], [],
             ["directional"] * 5]  # more than pyrender's 4 of a kind: it binds 4
    saved = rr._program_cache
    try:
        for kinds in mixes:
            lights = [Light(k, np.array([1.0, 0.9, 0.8]), 2.0 if k == "directional" else 4.0, up) for k in kinds]
            scene = Scene(objects=objs, camera=_camera(), lights=lights, ambient=np.full(3, 0.2),
                          bg_color=np.zeros(3), environment=[])
            imgs = []
            for cache in (ShaderProgramCache(), _static_light_cache(lambda: r._scene)):
                rr._program_cache = cache
                imgs.append(r.render(scene).rgb.astype(int))
                cache.clear()
            assert imgs[0].max() > 40, kinds  # lit
            assert np.abs(imgs[0] - imgs[1]).max() <= 2, kinds
    finally:
        rr._program_cache = saved
    # the renderer's own cache is the static one and compiled one program per light mix it met
    assert type(saved).__name__ == "_Cache"
