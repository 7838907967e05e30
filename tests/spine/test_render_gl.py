"""GL tests on hand-built scenes: projection, visibility, truncation (EGL; Mesa llvmpipe works on CPU)."""

import numpy as np
import pytest

from simgen.labels.amodal import label_frame
from simgen.core.geometry import look_at_cv, pose
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Camera, Light, ObjectInstance, Scene
from simgen.scene.spec import scene_from_dict

pytestmark = pytest.mark.gl

W, H = 320, 240


@pytest.fixture(scope="module")
def rig():
    from simgen.renderers.pyrender.backend import PyrenderRenderer

    spec = scene_from_dict({"objects": [
        {"category": "box", "shape": "box", "size": [0.1, 0.06, 0.04], "count": [1, 2]},
        {"category": "plate", "shape": "box", "size": [0.2, 0.2, 0.01], "count": [1, 1]},
    ]})
    cat = AssetCatalog.from_spec(spec, AssetCatalog.__module__ and __import__("pathlib").Path("."))
    with PyrenderRenderer(W, H) as r:
        r.prepare(cat, {k: 2 for k in cat.object_keys}, {"__surface__": 1})
        yield r, cat


def _scene(objs, eye=(0.0, 0.0, 0.6), target=(0.0, 0.0, 0.0), off=1.0):
    cam = Camera(fx=300.0, fy=310.0, cx=W / 2 + 7.3 * off, cy=H / 2 - 5.1 * off, width=W, height=H, znear=0.05, zfar=5.0,
                 T_world_cam=look_at_cv(eye, target))
    light = Light("directional", np.ones(3), 3.0, np.eye(4))
    return Scene(objects=objs, camera=cam, lights=[light], ambient=np.full(3, 0.3), bg_color=np.zeros(3),
                 environment=[])


def test_box_bbox_and_area_match_analytic_projection(rig):
    import cv2

    r, cat = rig
    T = pose(np.eye(3), [0.03, -0.02, 0.0])
    obj = ObjectInstance(1, cat.object_keys[0], "box", 1.0, T)
    scene = _scene([obj])
    frame = r.render(scene)
    inst = label_frame(r, scene, frame, 0.0, 1)
    assert len(inst) == 1
    # analytic: project the 8 corners; silhouette = their convex hull
    corners = np.array([[sx * 0.05, sy * 0.03, sz * 0.02] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    uv = scene.camera.project(corners @ T[:3, :3].T + T[:3, 3])
    x0, y0 = uv.min(0)
    x1, y1 = uv.max(0)
    bx, by, bw, bh = inst[0].bbox_xywh
    assert abs(bx - x0) <= 1 and abs(by - y0) <= 1
    assert abs((bx + bw) - x1) <= 1 and abs((by + bh) - y1) <= 1
    hull = cv2.convexHull(uv.astype(np.float32))
    area = cv2.contourArea(hull)
    assert inst[0].area == pytest.approx(area, rel=0.02)
    assert inst[0].visibility == 1.0 and inst[0].truncation == 0.0
    # depth in metres: the camera looks down from 0.6 m at the top face (z = 0.02)
    d = frame.depth[frame.instance_ids == 1]
    assert np.median(d) == pytest.approx(0.58, abs=0.005)


def test_half_occluded_object_has_visibility_one_half(rig):
    r, cat = rig
    # a thin plate at z=0, a box hovering above it that hides exactly its left half (in x) from a camera above
    plate = ObjectInstance(1, cat.object_keys[1], "plate", 1.0, pose(np.eye(3), [0.0, 0.0, 0.0]))
    # box scaled 4x: 0.4 x 0.24 x 0.16, spanning x in [-0.4, 0]: the plane x = 0 holds the optical axis, so the
    # cover's edge projects onto the plate's centre line whatever its height
    cover = ObjectInstance(2, cat.object_keys[0], "box", 4.0, pose(np.eye(3), [-0.2, 0.0, 0.2]))
    scene = _scene([plate, cover], eye=(0.0, 0.0, 1.2), off=0.0)
    frame = r.render(scene)
    inst = {i.instance_id: i for i in label_frame(r, scene, frame, 0.0, 1)}
    assert inst[1].visibility == pytest.approx(0.5, abs=0.03)
    assert inst[2].visibility == 1.0


def test_truncated_object(rig):
    r, cat = rig
    # the box centred on the image's right border: about half of it outside
    u_border = W - 0.5
    obj = ObjectInstance(1, cat.object_keys[0], "box", 1.0, pose(np.eye(3), [0.0, 0.0, 0.0]))
    scene = _scene([obj])
    # shift until the projected centre sits on the border
    uv0 = scene.camera.project(np.zeros((1, 3)))[0]
    uv1 = scene.camera.project(np.array([[0.01, 0.0, 0.0]]))[0]
    du = (uv1 - uv0) / 0.01
    shift = np.array([(u_border - uv0[0]) / du[0] if abs(du[0]) > 1e-6 else 0.0, 0.0, 0.0])
    if abs(du[0]) < 1e-6:
        shift = np.array([0.0, (u_border - uv0[0]) / du[1], 0.0])
    obj.T_world_obj = pose(np.eye(3), shift)
    frame = r.render(scene)
    inst = label_frame(r, scene, frame, 0.0, 1)
    assert len(inst) == 1
    assert inst[0].truncation == pytest.approx(0.5, abs=0.06)
    assert inst[0].bbox_xywh[0] + inst[0].bbox_xywh[2] == W
