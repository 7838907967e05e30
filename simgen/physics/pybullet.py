"""Physics placement with pybullet (DIRECT, no GUI): drop objects onto the support surface and let them settle.

One :class:`PhysicsWorld` per worker, one pybullet client (DIRECT) for its lifetime. Each sample starts from
``resetSimulation`` (pybullet rebuilds the dynamics world and frees bodies and collision shapes), so a sample's
result depends only on its own inputs (any sample can be re-made alone, byte-identical) and no memory accumulates
over long runs (RSS flat over 3000 resets with the cached vertex lists below; ``removeCollisionShape`` after a reset
only prints "Remove body failed"). Reconnecting per sample did the same but cost 3-13 ms of page faults (pybullet
allocates ~27 MB per client).

Objects collide as their convex hulls, simplified once per asset to at most :data:`HULL_MAX_VERTICES` vertices
(greedy: keep adding the point farthest outside the current hull until none is more than
:data:`HULL_TOLERANCE` outside): pybullet's shape creation and contact generation cost grows with the vertex
count, and scanned meshes have hulls of 400-1300 vertices.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from simgen.core.geometry import dot_rows, matrix_to_quat_xyzw, pose, quat_xyzw_to_matrix
from simgen.core.quiet import native_output_silenced
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import ObjectInstance, Scene
from simgen.scene.spec import DENSITY, MIN_MASS, PhysicsSpec, SceneSpec

log = logging.getLogger(__name__)

# hull simplification for physics (object units, i.e. metres before the instance's scale)
# 64: physics 40% faster than 128 on the YCB scene (32 -> 19 ms/sample, mean steps unchanged) for hulls at most
# 1.8 mm inside the scanned YCB ones, 2.3 mm on a 4 cm sphere (the worst shape for a polyhedron)
HULL_MAX_VERTICES = 64
HULL_TOLERANCE = 0.0005


def simplify_hull(points: np.ndarray, max_vertices: int = HULL_MAX_VERTICES,
                  tolerance: float = HULL_TOLERANCE) -> np.ndarray:
    """A subset of ``points`` (K, 3) whose convex hull is within ``tolerance`` of theirs, or has
    ``max_vertices`` points (greedy farthest-point insertion; deterministic). Returns (k, 3) float64, k <= K."""
    pts = np.asarray(points, np.float64)
    if len(pts) <= max_vertices:
        return pts
    try:
        from scipy.spatial import ConvexHull

        dirs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]],
                        np.float64)
        proj = dot_rows(pts - pts.mean(axis=0), dirs)
        idx = sorted(set(np.argmax(proj, axis=0).tolist()) | set(np.argmin(proj, axis=0).tolist()))
        while len(idx) < max_vertices:
            eq = ConvexHull(pts[idx]).equations  # outward unit normals n and offsets d: n.x + d <= 0 inside
            outside = (dot_rows(pts, eq[:, :3]) + eq[:, 3]).max(axis=1)
            k = int(np.argmax(outside))
            if outside[k] <= tolerance:
                break
            idx.append(k)
        return pts[sorted(idx)]
    except (RuntimeError, ValueError):  # degenerate (flat) point sets: QhullError; keep them all
        return pts




def hull_volume(points: np.ndarray) -> float:
    """Volume (m^3, unscaled) of the convex hull of points (K, 3); a thin bounding-box volume for flat sets."""
    pts = np.asarray(points, np.float64)
    try:
        from scipy.spatial import ConvexHull

        return float(ConvexHull(pts).volume)
    except (RuntimeError, ValueError):  # flat or degenerate (QhullError): physics uses a thickened box
        ext = np.maximum(pts.max(0) - pts.min(0), 1e-3)
        return float(np.prod(ext))


def body_mass(volume: float, scale: float) -> float:
    """Mass (kg) of a body whose unscaled hull has ``volume``, drawn at ``scale``: masses proportional to size.

    (The earlier ``0.2 * scale ** 3`` assumed meshes in metres at scale ~1; distractor primitives are unit-radius
    meshes scaled by ~5 cm, so they weighed 1 g beside 200 g objects: a 200:1 ratio the solver resolves slowly,
    with deep penetrations.)
    """
    return max(MIN_MASS, DENSITY * float(volume) * float(scale) ** 3)


class PhysicsWorld:
    """Owns one pybullet client. Use as a context manager: ``with PhysicsWorld() as w: w.settle(...)``."""

    def __init__(self) -> None:
        self._p = None
        self._client = -1
        self._hulls: dict[str, tuple[list, float]] = {}

    def __enter__(self) -> "PhysicsWorld":
        with native_output_silenced():  # its import prints its build time
            import pybullet as p

        self._p = p
        self._client = p.connect(p.DIRECT)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._p is not None and self._client >= 0:
            try:
                self._p.disconnect(physicsClientId=self._client)
            except self._p.error as exc:  # already disconnected (e.g. at interpreter exit)
                log.debug("pybullet disconnect: %s", exc)
        self._client = -1

    def settle(self, scene: Scene, catalog: AssetCatalog, spec: SceneSpec) -> Scene:
        """:class:`simgen.physics.Simulator`: settle with the scene's physics settings; the support surface's
        rims keep objects on it."""
        half = (spec.surface.size[0] / 2, spec.surface.size[1] / 2)
        return self.settle_with(scene, catalog, spec.physics, surface_half_extent=half)

    @classmethod
    def from_config(cls, cfg) -> "PhysicsWorld":
        return cls()

    def _fresh_world(self) -> int:
        """An empty world in this worker's client (the previous sample's bodies and collision shapes freed)."""
        p = self._p
        if self._client < 0:
            self._client = p.connect(p.DIRECT)
        p.resetSimulation(physicsClientId=self._client)
        return self._client

    def _run(self, bodies: list[int], physics: PhysicsSpec, cid: int) -> int:
        """Step until every body rests (checked every 10 steps from step 30) or the budget runs out; returns the
        number of steps taken. (Freezing resting bodies, i.e. making them static early, was measured: no faster.)"""
        p = self._p
        steps = 0
        for steps in range(1, physics.max_steps + 1):
            p.stepSimulation(physicsClientId=cid)
            if steps % 10 == 0 and steps >= 30:
                if max(_speed(p.getBaseVelocity(b, physicsClientId=cid)) for b in bodies) < physics.rest_speed:
                    break
        return steps

    def _collision_shape(self, asset_key: str, mesh, scale: float) -> tuple[int, float]:
        """The body shape of an asset at ``scale`` and its unscaled volume (m^3): its exact primitive (box, sphere,
        cylinder, capsule) when the catalog knows one, else its simplified convex hull."""
        p = self._p
        if mesh.collision is not None:
            kind, d = mesh.collision
            s = float(scale)
            if kind == "box":
                return self._shape(p.GEOM_BOX, halfExtents=[0.5 * s * x for x in d]), float(np.prod(d))
            if kind == "sphere":
                return self._shape(p.GEOM_SPHERE, radius=s * d[0]), 4.0 / 3.0 * math.pi * d[0] ** 3
            if kind == "cylinder":
                return self._shape(p.GEOM_CYLINDER, radius=s * d[0], height=s * d[1]), math.pi * d[0] ** 2 * d[1]
            if kind == "capsule":
                return (self._shape(p.GEOM_CAPSULE, radius=s * d[0], height=s * d[1]),
                        math.pi * d[0] ** 2 * d[1] + 4.0 / 3.0 * math.pi * d[0] ** 3)
        verts, volume = self._hull(asset_key, mesh)
        return self._shape(p.GEOM_MESH, vertices=verts, meshScale=[scale] * 3), volume

    def _hull(self, asset_key: str, mesh) -> tuple[list, float]:
        """The asset's simplified hull vertices (a cached list: pybullet keeps a reference to every float of a
        vertices list it is given, a ~0.4 MB-per-sample leak if a new one were passed each time; shapes scale it
        with meshScale) and its unscaled volume."""
        h = self._hulls.get(asset_key)
        if h is None:
            verts = simplify_hull(mesh.hull_vertices)
            h = self._hulls[asset_key] = (verts.tolist(), hull_volume(verts))
        return h

    def _shape(self, kind: int, **kw) -> int:
        return self._p.createCollisionShape(kind, physicsClientId=self._client, **kw)

    def settle_with(self, scene: Scene, catalog: AssetCatalog, physics: PhysicsSpec,
               surface_half_extent: tuple[float, float] | None = None) -> Scene:
        """Drop ``scene.objects`` from their current poses onto the plane z = 0 and return the settled scene."""
        if not physics.enabled or not scene.objects:
            return scene
        p = self._p
        assert p is not None, "PhysicsWorld used outside its context"
        cid = self._fresh_world()
        p.setGravity(0, 0, -9.81, physicsClientId=cid)
        p.setTimeStep(physics.timestep, physicsClientId=cid)
        p.setPhysicsEngineParameter(numSolverIterations=int(physics.solver_iterations), deterministicOverlappingPairs=1,
                                    physicsClientId=cid)
        plane = self._shape(p.GEOM_PLANE)
        ground = p.createMultiBody(0, plane, physicsClientId=cid)
        p.changeDynamics(ground, -1, lateralFriction=physics.friction, physicsClientId=cid)
        if surface_half_extent is not None:  # invisible rims keep objects on the table
            hx, hy = surface_half_extent
            for (cx, cy, ex, ey) in ((hx + 0.05, 0, 0.05, hy + 0.1), (-hx - 0.05, 0, 0.05, hy + 0.1),
                                     (0, hy + 0.05, hx + 0.1, 0.05), (0, -hy - 0.05, hx + 0.1, 0.05)):
                wall = self._shape(p.GEOM_BOX, halfExtents=[ex, ey, 0.5])
                p.createMultiBody(0, wall, basePosition=[cx, cy, 0.5], physicsClientId=cid)
        shapes: dict[tuple[str, float], tuple[int, float]] = {}  # (asset, scale) -> (shape, unscaled volume)
        bodies = []
        for obj in scene.objects:
            key = (obj.asset_key, round(obj.scale, 6))
            if key not in shapes:
                shapes[key] = self._collision_shape(obj.asset_key, catalog[obj.asset_key], obj.scale)
            shape, volume = shapes[key]
            T = obj.T_world_obj
            b = p.createMultiBody(body_mass(volume, obj.scale), shape, basePosition=T[:3, 3].tolist(),
                                  baseOrientation=matrix_to_quat_xyzw(T[:3, :3]).tolist(), physicsClientId=cid)
            # rolling/spinning friction lets round objects (balls, cans on their side) come to rest instead of
            # rolling until the step budget runs out
            p.changeDynamics(b, -1, lateralFriction=physics.friction, rollingFriction=0.03,
                             spinningFriction=0.01, linearDamping=0.1, angularDamping=0.3, physicsClientId=cid)
            bodies.append(b)
        steps = self._run(bodies, physics, cid)
        out = []
        for obj, b in zip(scene.objects, bodies):
            pos, quat = p.getBasePositionAndOrientation(b, physicsClientId=cid)
            # round away last-bit float noise so poses (and images) are stable
            T = pose(quat_xyzw_to_matrix(np.round(quat, 9)), np.round(pos, 9))
            out.append(_replace_pose(obj, T))
        scene.params["physics_steps"] = steps
        return scene.with_objects(out)


def _speed(v) -> float:
    """Largest of linear speed and angular speed x 5 cm (~ surface speed of a rolling object), m/s."""
    (vx, vy, vz), (wx, wy, wz) = v
    return max(math.sqrt(vx * vx + vy * vy + vz * vz), 0.05 * math.sqrt(wx * wx + wy * wy + wz * wz))


def _replace_pose(obj: ObjectInstance, T: np.ndarray) -> ObjectInstance:
    from dataclasses import replace

    return replace(obj, T_world_obj=T)
