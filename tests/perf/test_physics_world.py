"""Physics: hull simplification and the reused pybullet client (no GL)."""

import numpy as np
import pytest

from simgen.physics.pybullet import HULL_MAX_VERTICES, simplify_hull


def _outside(points, hull_points):
    from scipy.spatial import ConvexHull

    eq = ConvexHull(hull_points).equations
    return (points @ eq[:, :3].T + eq[:, 3]).max(axis=1).max()


def test_simplify_hull_small_inputs_unchanged():
    box = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    assert np.array_equal(simplify_hull(box), box)


def test_simplify_hull_bounds_vertices_and_error():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.04).vertices  # 2562 points
    s = simplify_hull(sphere)
    assert len(s) <= HULL_MAX_VERTICES
    assert set(map(tuple, s)) <= set(map(tuple, sphere))  # a subset: an inner approximation
    assert _outside(sphere, s) < 0.0025  # 2.5 mm on a 4 cm sphere (the worst shape for a polyhedron)
    assert _outside(sphere, simplify_hull(sphere, max_vertices=128)) < 0.0015
    # deterministic
    assert np.array_equal(s, simplify_hull(sphere.copy()))
    # a tolerance stop: a finely tessellated box needs only its corners
    box = trimesh.creation.box(extents=[0.1, 0.05, 0.02]).subdivide().subdivide().vertices
    sb = simplify_hull(box, max_vertices=64, tolerance=1e-6)
    assert len(sb) <= 26 and _outside(box, sb) <= 1e-6


def test_simplify_hull_flat_input_kept():
    flat = np.array([[x, y, 0.0] for x in np.linspace(0, 1, 20) for y in np.linspace(0, 1, 20)])
    assert len(simplify_hull(flat, max_vertices=16)) == len(flat)


def test_reused_client_results_independent_of_history():
    """Sample k settled after others equals sample k settled in a fresh world (byte-identical poses)."""
    from simgen.physics.pybullet import PhysicsWorld
    from simgen.run.worker import sample_rng
    from simgen.scene.sampler import sample_scene
    from simgen.scene.catalog import AssetCatalog
    from simgen.scene.spec import load_scene, resolve_scene_path
    from simgen.paths import assets_dir, scenes_dir

    spec = load_scene(resolve_scene_path("default", scenes_dir()))
    cat = AssetCatalog.from_spec(spec, assets_dir())

    def settle(world, i):
        scene = sample_scene(spec, cat, sample_rng(0, i), 320, 240)
        half = (spec.surface.size[0] / 2, spec.surface.size[1] / 2)
        out = world.settle_with(scene, cat, spec.physics, surface_half_extent=half)
        return [o.T_world_obj.copy() for o in out.objects]

    with PhysicsWorld() as w:
        seq = [settle(w, i) for i in range(4)]
        n_bodies = w._p.getNumBodies(physicsClientId=w._client)
    with PhysicsWorld() as w2:
        alone = settle(w2, 3)
    assert len(alone) == len(seq[3]) and all(np.array_equal(a, b) for a, b in zip(alone, seq[3]))
    assert n_bodies == 5 + len(seq[3])  # ground + 4 rims + the last sample's objects: earlier ones were freed


def test_primitive_collision_shapes_match_the_meshes():
    """Procedural box/sphere/cylinder/capsule collide as exact pybullet primitives with the mesh's dimensions;
    cone and torus keep their hulls."""
    from simgen.scene.shapes import make_shape as _primitive, primitive_collision

    kind, d = primitive_collision("box", _primitive("box", [0.1, 0.07, 0.06]).vertices)
    assert kind == "box" and d == pytest.approx((0.1, 0.07, 0.06))
    kind, d = primitive_collision("sphere", _primitive("sphere", [0.04]).vertices)
    assert kind == "sphere" and d == pytest.approx((0.04,))
    kind, d = primitive_collision("cylinder", _primitive("cylinder", [0.035, 0.11]).vertices)
    assert kind == "cylinder" and d == pytest.approx((0.035, 0.11))
    kind, d = primitive_collision("capsule", _primitive("capsule", [0.025, 0.08]).vertices)
    assert kind == "capsule" and d == pytest.approx((0.025, 0.08))
    assert primitive_collision("cone", _primitive("cone", [0.04, 0.09]).vertices) is None
    assert primitive_collision("torus", _primitive("torus", [0.045, 0.015]).vertices) is None
    off_centre = _primitive("box", [0.1, 0.1, 0.1]).vertices + 0.05
    assert primitive_collision("box", off_centre) is None


@pytest.mark.parametrize("shape,size,scale,rest_z", [
    ("sphere", [0.04], 1.0, 0.04),           # a ball rests on its radius (the old 64-vertex hull sank ~2 mm)
    ("sphere", [0.04], 1.25, 0.05),          # scaled instances use scaled primitives
    ("box", [0.1, 0.07, 0.06], 1.0, None),   # a box rests on one of its faces: centre at a half extent
])
def test_primitives_rest_at_their_true_height(shape, size, scale, rest_z):
    from simgen.physics.pybullet import PhysicsWorld
    from simgen.scene.catalog import AssetCatalog
    from simgen.scene.model import Camera, ObjectInstance, Scene
    from simgen.scene.spec import scene_from_dict
    from pathlib import Path

    spec = scene_from_dict({"objects": [{"category": "a", "shape": shape, "size": size}]})
    cat = AssetCatalog.from_spec(spec, Path("."))
    key = cat.object_keys[0]
    assert cat[key].collision is not None
    T = np.eye(4)
    T[:3, 3] = [0.0, 0.0, 0.2]
    obj = ObjectInstance(asset_key=key, category="a", instance_id=1, T_world_obj=T, scale=scale)
    cam = Camera(fx=500, fy=500, cx=80, cy=60, width=160, height=120, znear=0.05, zfar=20)
    scene = Scene(objects=[obj], camera=cam, lights=[], ambient=np.zeros(3), bg_color=np.zeros(3), environment=[])
    with PhysicsWorld() as w:
        out = w.settle_with(scene, cat, spec.physics)
    z = out.objects[0].T_world_obj[2, 3]
    if rest_z is None:
        assert min(abs(z - h / 2) for h in size) < 1e-3, z
    else:
        assert z == pytest.approx(rest_z, abs=5e-4)
