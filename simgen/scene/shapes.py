"""Procedural shapes: every shape simgen can make, its size parameters and its exact collision primitive.

The one place that knows shapes: the scene schema (``shape:`` names and how many ``size`` values each takes), the
catalog (meshes), the distractors (random proportions) and physics (collision primitives) all read it from here.
Pure trimesh/numpy.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from simgen.errors import ConfigError

# number of size parameters each procedural shape takes (metres):
# box [x, y, z] extents; cylinder/capsule/cone [radius, height]; sphere [radius]; torus [R, r];
# nut [hexagon corner radius, hole radius, thickness]; washer [outer radius, inner radius, thickness];
# bracket [leg length, width, thickness] (an L-shaped angle bracket)
SHAPE_SIZES = {"box": 3, "cylinder": 2, "sphere": 1, "capsule": 2, "cone": 2, "torus": 2, "nut": 3, "washer": 3,
               "bracket": 3}
SHAPES = frozenset(SHAPE_SIZES)


def random_unit_size(shape: str, rng: np.random.Generator) -> list[float]:
    """Size parameters of ``shape`` with random proportions (for distractors; scaled to unit radius later)."""
    a = rng.uniform(0.4, 1.0, size=3)
    size = {"box": [a[0], a[1], a[2]], "cylinder": [0.5 * a[0], a[1] * 1.5], "sphere": [1.0],
            "capsule": [0.35 * a[0], a[1]], "cone": [0.6 * a[0], a[1] * 1.5],
            "torus": [1.0, 0.15 + 0.2 * a[0]]}.get(shape)
    if size is None:  # machine parts: their own sizes, largest first
        size = sorted(rng.uniform(0.3, 1.0, size=SHAPE_SIZES[shape]), reverse=True)
    return list(size)




# Tessellation of the round primitives. A software rasteriser pays per triangle (setup and, with 4x MSAA,
# per-sample coverage), so tori (32 x 16 = 1024 faces, within 0.3 mm of the default ring) and capsules (16 x 16,
# 512 faces) use half the faces they did, with no visible difference. Spheres keep 1280 faces (within 0.45% of
# the radius): at 320 faces (1.8%) a ball close to the camera showed a polygonal outline.
SPHERE_SUBDIVISIONS = 3
CAPSULE_COUNT = [16, 16]
TORUS_SECTIONS = (32, 16)


COLLISION_SHAPES = ("box", "sphere", "cylinder", "capsule")


def primitive_collision(shape: str, vertices: np.ndarray) -> Optional[tuple[str, tuple[float, ...]]]:
    """The exact collision primitive of a procedural ``shape`` from its (centred, possibly scaled) vertices (N, 3),
    or None for shapes physics approximates by their hull (cone, torus, nut, ...) or meshes not centred at the
    origin. Dimensions are measured on the vertices, so they follow any scaling applied to the mesh."""
    if shape not in COLLISION_SHAPES:
        return None
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    if np.abs(lo + hi).max() > 1e-6 * max(1.0, float(np.abs(v).max())):
        return None
    ext = hi - lo
    if shape == "box":
        return "box", tuple(float(e) for e in ext)
    if shape == "sphere":
        return "sphere", (float(np.linalg.norm(v, axis=1).max()),)
    r = float(np.linalg.norm(v[:, :2], axis=1).max())
    if shape == "cylinder":
        return "cylinder", (r, float(ext[2]))
    return "capsule", (r, max(float(ext[2]) - 2 * r, 0.0))


def make_shape(shape: str, size: list[float]):
    """The trimesh of a procedural ``shape`` with ``size`` parameters (see :data:`SHAPE_SIZES`)."""
    import trimesh

    if shape == "box":
        return trimesh.creation.box(extents=size)
    if shape == "cylinder":
        return trimesh.creation.cylinder(radius=size[0], height=size[1], sections=48)
    if shape == "sphere":
        return trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=size[0])
    if shape == "capsule":
        return trimesh.creation.capsule(radius=size[0], height=size[1], count=CAPSULE_COUNT)
    if shape == "cone":
        return trimesh.creation.cone(radius=size[0], height=size[1], sections=48)
    if shape == "torus":
        return trimesh.creation.torus(major_radius=size[0], minor_radius=size[1], major_sections=TORUS_SECTIONS[0],
                                      minor_sections=TORUS_SECTIONS[1])
    if shape == "nut":
        return _nut(*size)
    if shape == "washer":
        return _washer(*size)
    if shape == "bracket":
        return _bracket(*size)
    raise ConfigError(f"unknown shape {shape!r}; use one of {', '.join(sorted(SHAPES))}")


# ---------------------------------------------------------------------- machine parts (nut, washer, bracket)

def _ring_prism(outer: np.ndarray, inner: np.ndarray, thickness: float, smooth_outer: bool, smooth_inner: bool):
    """Prism between two closed rings (M, 2) (outer CCW seen from +z, inner at the same angles), z in
    [-t/2, t/2]. Caps and walls have their own vertices, so edges stay sharp; a wall is smooth-shaded (shared
    vertices) or flat (unmerged)."""
    import trimesh

    m = len(outer)
    h = thickness / 2.0
    nxt = (np.arange(m) + 1) % m
    i = np.arange(m)
    verts, faces = [], []

    def add(v, f):
        base = sum(len(x) for x in verts)
        verts.append(np.asarray(v, np.float64))
        faces.append(np.asarray(f, np.int64) + base)

    for z, up in ((h, True), (-h, False)):  # caps: outer ring 0..m-1, inner ring m..2m-1
        v = np.vstack([np.c_[outer, np.full(m, z)], np.c_[inner, np.full(m, z)]])
        f = np.r_[np.c_[i, nxt, m + nxt], np.c_[i, m + nxt, m + i]]
        add(v, f if up else f[:, ::-1])
    for ring, smooth, outward in ((outer, smooth_outer, True), (inner, smooth_inner, False)):
        v = np.vstack([np.c_[ring, np.full(m, -h)], np.c_[ring, np.full(m, h)]])  # bottom 0..m-1, top m..2m-1
        f = np.r_[np.c_[i, nxt, m + nxt], np.c_[i, m + nxt, m + i]]
        f = f if outward else f[:, ::-1]
        if smooth:
            add(v, f)
        else:
            add(v[f.reshape(-1)], np.arange(len(f) * 3).reshape(-1, 3))
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)


def _nut(corner_radius: float, hole_radius: float, thickness: float):
    """Hexagon nut: corner radius (circumradius), hole radius < the flats' radius, thickness."""
    hole = min(hole_radius, 0.95 * corner_radius * np.cos(np.pi / 6))
    th = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    r_hex = corner_radius * np.cos(np.pi / 6) / np.cos((th % (np.pi / 3)) - np.pi / 6)
    outer = np.c_[np.cos(th), np.sin(th)] * r_hex[:, None]
    inner = np.c_[np.cos(th), np.sin(th)] * hole
    return _ring_prism(outer, inner, thickness, smooth_outer=False, smooth_inner=True)


def _washer(outer_radius: float, inner_radius: float, thickness: float):
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ring = np.c_[np.cos(th), np.sin(th)]
    return _ring_prism(ring * outer_radius, ring * min(inner_radius, 0.95 * outer_radius), thickness,
                       smooth_outer=True, smooth_inner=True)


def _bracket(leg: float, width: float, thickness: float):
    """L-shaped angle bracket: two legs of length ``leg`` and ``thickness`` at a right angle, ``width`` deep,
    centred on its bounding box. Flat-shaded."""
    import trimesh

    t = min(thickness, 0.9 * leg)
    prof = np.array([[0, 0], [leg, 0], [leg, t], [t, t], [t, leg], [0, leg]], np.float64)  # (x, z), CCW
    n = len(prof)
    y0, y1 = -width / 2, width / 2
    tris = []
    for a, b in ((1, 2), (2, 3), (3, 4), (4, 5)):  # fan from the outer corner (0, 0): the L is star-shaped there
        p0, pa, pb = prof[0], prof[a], prof[b]
        tris.append([[p0[0], y0, p0[1]], [pa[0], y0, pa[1]], [pb[0], y0, pb[1]]])  # cap at y0 (normal -y)
        tris.append([[p0[0], y1, p0[1]], [pb[0], y1, pb[1]], [pa[0], y1, pa[1]]])  # cap at y1 (normal +y)
    for k in range(n):
        a, b = prof[k], prof[(k + 1) % n]
        q = [[a[0], y0, a[1]], [b[0], y0, b[1]], [b[0], y1, b[1]], [a[0], y1, a[1]]]
        tris.append([q[0], q[2], q[1]])
        tris.append([q[0], q[3], q[2]])
    v = np.asarray(tris, np.float64).reshape(-1, 3)
    tm = trimesh.Trimesh(v, np.arange(len(v)).reshape(-1, 3), process=False)
    tm.apply_translation(-tm.bounds.mean(0))
    return tm

