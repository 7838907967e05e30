"""The byte path's vector helpers (simgen.core.geometry) agree with NumPy's BLAS-backed operations to rounding,
and are computed without BLAS (so their bits cannot depend on the kernel the BLAS library picks per CPU)."""

from __future__ import annotations

import numpy as np

from simgen.core.geometry import dot, dot_rows, matmul, norm


def test_helpers_match_numpy_to_rounding():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(dot_rows(a, b), a @ b.T, rtol=1e-12, atol=1e-14)
    v, w = rng.normal(size=4), rng.normal(size=4)
    assert abs(norm(v) - np.linalg.norm(v)) < 1e-14 and abs(dot(v, w) - float(np.dot(v, w))) < 1e-14
    A, B = rng.normal(size=(5, 4, 4)), rng.normal(size=(4, 4))
    np.testing.assert_allclose(matmul(A, B), A @ B, rtol=1e-12, atol=1e-14)
    assert isinstance(norm(v), float) and isinstance(dot(v, w), float)


def test_helpers_are_exactly_the_elementwise_formula():
    """Fixed order of correctly rounded operations: the result is this formula's, bit for bit."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(9, 3)), rng.normal(size=(2, 3))
    want = np.array([[x[0] * y[0] + x[1] * y[1] + x[2] * y[2] for y in b] for x in a])
    assert np.array_equal(dot_rows(a, b), want)
    v = rng.normal(size=3)
    assert norm(v) == float(np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]))
