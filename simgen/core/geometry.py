"""Pose helpers (pure numpy). Poses are (4, 4) float64; angles in radians."""

from __future__ import annotations

import math

import numpy as np


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random rotation (3, 3) float64 (Shoemake's method)."""
    u1, u2, u3 = rng.random(3)
    q = np.array([np.sqrt(1 - u1) * np.sin(2 * np.pi * u2), np.sqrt(1 - u1) * np.cos(2 * np.pi * u2),
                  np.sqrt(u1) * np.sin(2 * np.pi * u3), np.sqrt(u1) * np.cos(2 * np.pi * u3)])
    return quat_xyzw_to_matrix(q)


def quat_xyzw_to_matrix(q) -> np.ndarray:
    x, y, z, w = (float(v) for v in q)
    n = x * x + y * y + z * z + w * w
    s = 2.0 / n if n > 0 else 0.0
    return np.array([
        [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
        [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
        [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)],
    ])


def matrix_to_quat_xyzw(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, np.float64)
    t = np.trace(R)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        w, x, y, z = 0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2]) * 2
        w, x, y, z = (R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s
    elif R[1, 1] > R[2, 2]:
        s = np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2]) * 2
        w, x, y, z = (R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s
    else:
        s = np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1]) * 2
        w, x, y, z = (R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s
    q = np.array([x, y, z, w])
    return q / norm(q)


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def pose(R: np.ndarray, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


def look_at_cv(eye, target, roll: float = 0.0, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera pose T_world_cam in the OpenCV frame (z forward, x right, y down) looking from eye to target."""
    eye, target, up = (np.asarray(v, np.float64) for v in (eye, target, up))
    f = target - eye
    f /= norm(f)
    r = np.cross(f, up)
    if norm(r) < 1e-8:  # looking straight down/up: pick any right vector
        r = np.cross(f, np.array([0.0, 1.0, 0.0]))
    r /= norm(r)
    d = np.cross(f, r)
    R = np.stack([r, d, f], axis=1)
    if roll:
        c, s = np.cos(roll), np.sin(roll)
        R = matmul(R, np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]))
    return pose(R, eye)


def spherical_to_cartesian(distance: float, elevation: float, azimuth: float) -> np.ndarray:
    ce = np.cos(elevation)
    return distance * np.array([ce * np.cos(azimuth), ce * np.sin(azimuth), np.sin(elevation)])


def dot_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for points a (N, 3) and vectors b (M, 3) -> (N, M) float64, the same bits on every CPU.

    ``@`` goes to the BLAS library, whose kernel is picked at run time by CPU (OpenBLAS's AVX-512 kernel rounds
    differently from its AVX2 one): a greedy choice on such products (hull simplification) then picks other
    points and the physics, poses and every byte after them differ between machines. Three correctly rounded
    multiplies and two adds, in this order, do not depend on the CPU."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return a[:, 0:1] * b[:, 0] + a[:, 1:2] * b[:, 1] + a[:, 2:3] * b[:, 2]


def norm(v) -> float:
    """Euclidean length of a vector, the same bits on every CPU (``np.linalg.norm`` of a 1-D array is a BLAS
    dot, whose rounding depends on the kernel the BLAS library picks for the CPU; see ``dot_rows``)."""
    return math.sqrt(dot(v, v))


def dot(a, b) -> float:
    """Dot product of two vectors, the same bits on every CPU (``np.dot`` of 1-D arrays is a BLAS call)."""
    return float(np.add.reduce(np.asarray(a, np.float64).ravel() * np.asarray(b, np.float64).ravel()))


def matmul(a, b) -> np.ndarray:
    """``a @ b`` for float arrays (stacks allowed), without BLAS: the same bits on every CPU (``@`` rounds
    differently on CPUs where the BLAS library picks another kernel; see ``dot_rows``)."""
    return np.einsum("...ij,jk->...ik", np.asarray(a, np.float64), np.asarray(b, np.float64))
