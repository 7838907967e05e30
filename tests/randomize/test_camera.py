"""Camera family: offsets from the spine camera (identity settings reproduce it; intrinsics fixed by default)."""

from __future__ import annotations

import numpy as np

from simgen.randomize.families.camera import sample_camera, spine_view
from simgen.core.dist import Dist
from simgen.randomize.families.camera import CameraConfig
from simgen.scene.sampler import sample_camera as spine_camera
from simgen.scene.spec import load_scene, resolve_scene_path
from simgen.paths import scenes_dir


def _spec():
    return load_scene(resolve_scene_path("default", scenes_dir()))


def test_identity_settings_reproduce_the_spine_camera():
    spec = _spec()
    cfg = CameraConfig(enabled=True, distance_scale=Dist("const", value=1.0), look_at_jitter=Dist("const", value=0.0),
                       roll_deg=Dist("const", value=0.0), elevation_limits_deg=[-90.0, 90.0])
    for i in range(10):
        base = spine_camera(spec.camera, np.random.default_rng(i), 320, 240)
        cam = sample_camera(cfg, spec, base, np.random.default_rng(0))
        assert np.allclose(cam.T_world_cam, base.T_world_cam, atol=1e-9)
        assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.width) == (base.fx, base.fy, base.cx, base.cy, base.width)


def test_offsets_move_the_view_by_the_drawn_angles():
    spec = _spec()
    base = spine_camera(spec.camera, np.random.default_rng(3), 320, 240)
    target, d0, el0, az0, _ = spine_view(base, spec.camera.look_at)
    cfg = CameraConfig(enabled=True, distance_scale=Dist("const", value=1.5), look_at_jitter=Dist("const", value=0.0),
                       roll_deg=Dist("const", value=0.0), elevation_offset_deg=Dist("const", value=-10.0),
                       azimuth_offset_deg=Dist("const", value=30.0), focal_scale=Dist("const", value=1.1))
    cam = sample_camera(cfg, spec, base, np.random.default_rng(0))
    v = cam.T_world_cam[:3, 3] - target  # no look-at jitter: the target is the spine's
    d, el, az = np.linalg.norm(v), np.arcsin(v[2] / np.linalg.norm(v)), np.arctan2(v[1], v[0])
    assert np.allclose(cam.T_world_cam[:3, 2], -v / d)  # still looking at it
    assert np.isclose(d, 1.5 * d0) and np.isclose(np.rad2deg(el - el0), -10.0)
    assert np.isclose(np.rad2deg((az - az0 + np.pi) % (2 * np.pi) - np.pi), 30.0)
    assert np.isclose(cam.fx, 1.1 * base.fx) and cam.cx == base.cx
