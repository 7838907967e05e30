"""``sample_scene``: scene description + rng -> concrete Scene with drop poses (pure, no engine).

This is the baseline sampling from the scene file's own ranges (counts, scales, drop area, camera placement,
lights). Randomization families (``randomize/families``) then vary the result further.
"""

from __future__ import annotations

import numpy as np

from simgen.core.geometry import look_at_cv, norm, pose, random_rotation, rot_z, spherical_to_cartesian
from simgen.scene.catalog import SURFACE_KEY, WALL_KEY, AssetCatalog
from simgen.scene.model import Camera, Light, ObjectInstance, Scene
from simgen.scene.spec import CameraSpec, SceneSpec


def sample_camera(cam: CameraSpec, rng: np.random.Generator, width: int | None = None,
                  height: int | None = None) -> Camera:
    """Camera on a sphere around ``look_at`` (distance, elevation, azimuth, jitter, roll from the spec)."""
    d = rng.uniform(*cam.distance)
    el = np.deg2rad(min(rng.uniform(*cam.elevation_deg), 89.5))
    az = np.deg2rad(rng.uniform(*cam.azimuth_deg))
    jitter = rng.uniform(-cam.look_at_jitter, cam.look_at_jitter, size=3)
    roll = np.deg2rad(rng.uniform(*cam.roll_deg))
    target = np.asarray(cam.look_at, np.float64) + jitter
    eye = target + spherical_to_cartesian(d, el, az)
    c = Camera(fx=cam.fx, fy=cam.fy, cx=cam.cx, cy=cam.cy, width=cam.width, height=cam.height, znear=cam.znear,
               zfar=cam.zfar, T_world_cam=look_at_cv(eye, target, roll))
    if (width and width != cam.width) or (height and height != cam.height):
        c = c.resized(width or cam.width, height or cam.height)
    return c


def sample_lights(spec: SceneSpec, rng: np.random.Generator) -> list[Light]:
    L = spec.lighting
    n = int(rng.integers(L.n_lights[0], L.n_lights[1] + 1))
    lights = []
    for _ in range(n):
        el = np.deg2rad(rng.uniform(*L.elevation_deg))
        az = rng.uniform(0, 2 * np.pi)
        eye = spherical_to_cartesian(2.0, el, az)
        T = look_at_cv(eye, np.zeros(3))
        # pyrender lights shine along local -z (OpenGL): flip the OpenCV frame
        T = T @ np.diag([1.0, -1.0, -1.0, 1.0])
        lights.append(Light(kind="directional", color=np.ones(3), intensity=float(rng.uniform(*L.intensity)),
                            T_world_light=T))
    return lights


def drop_pose(mesh, scale: float, R: np.ndarray, xy: np.ndarray, drop_height: float, upright: bool,
              placed: list[tuple[np.ndarray, float, float]]) -> np.ndarray:
    """The pose an object is dropped from: at ``xy``, ``drop_height`` above the surface plus its radius, lifted
    above anything already placed that it would start inside (``placed``: (xy, radius, top z), appended to); an
    upright object starts with its lowest point just above the surface. Returns T_world_obj (4, 4)."""
    r = mesh.radius * scale
    z = r + drop_height
    for (pxy, pr, ptop) in placed:  # stack above anything it would start inside
        if norm(xy - pxy) < r + pr:
            z = max(z, ptop + r + 0.005)
    placed.append((xy, r, z + r))
    if upright:  # rest the lowest point just above the surface
        z = z - r - float((mesh.vertices[:, 2] * scale).min()) + 0.002
    return pose(R, [xy[0], xy[1], z])


def sample_objects(spec: SceneSpec, catalog: AssetCatalog, rng: np.random.Generator) -> list[ObjectInstance]:
    """Counts, scales and non-overlapping drop poses for every object kind."""
    P = spec.placement
    objects: list[ObjectInstance] = []
    placed: list[tuple[np.ndarray, float, float]] = []  # (xy, radius, top z)
    next_id = 1
    for i, o in enumerate(spec.objects):
        key = catalog.object_keys[i]
        mesh = catalog[key]
        n = int(rng.integers(o.count[0], o.count[1] + 1))
        for _ in range(n):
            s = float(rng.uniform(*o.scale))
            upright = not P.random_orientation
            if P.random_orientation and P.upright_probability > 0:
                upright = bool(rng.random() < P.upright_probability)
            R = rot_z(rng.uniform(0, 2 * np.pi)) if upright else random_rotation(rng)
            xy = rng.uniform(-1, 1, size=2) * np.asarray(P.half_extent)
            T = drop_pose(mesh, s, R, xy, rng.uniform(*P.drop_height), upright, placed)
            objects.append(ObjectInstance(instance_id=next_id, asset_key=key,
                                          category=o.category if o.labelled else None, scale=s, T_world_obj=T))
            next_id += 1
    return objects


def environment(spec: SceneSpec) -> list[tuple[str, np.ndarray]]:
    env = [(SURFACE_KEY, np.eye(4))]
    if spec.background.walls:
        d = spec.background.wall_distance
        for k in range(4):
            a = k * np.pi / 2
            R = rot_z(a)
            env.append((WALL_KEY, pose(R, R @ np.array([0.0, d, 0.0]))))
    return env


def sample_scene(spec: SceneSpec, catalog: AssetCatalog, rng: np.random.Generator,
                 width: int | None = None, height: int | None = None) -> Scene:
    """Draw one concrete scene (objects at drop poses, camera, lights). Pure: same rng state -> same scene."""
    objects = sample_objects(spec, catalog, rng)
    camera = sample_camera(spec.camera, rng, width, height)
    lights = sample_lights(spec, rng)
    amb = spec.lighting.ambient
    return Scene(objects=objects, camera=camera, lights=lights, ambient=np.array([amb, amb, amb]),
                 bg_color=np.asarray(spec.background.color, np.float64), environment=environment(spec))
