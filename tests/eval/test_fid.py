"""FID/KID with the small test extractor (no network, fast)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simgen.eval.fid import (ImageItem, TinyFeatures, compare_sets, extract_features, fid_from_features,  # noqa: E402
                             kid_from_features, load_item, make_extractor, resize_batch)
from simgen.errors import ScoreError  # noqa: E402

pytestmark = pytest.mark.torch


def _images(seed: int, n: int = 40, noise: float = 0.0) -> list[np.ndarray]:
    """Smooth random colour blobs (64x64), optionally with added Gaussian noise of std ``noise``."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = rng.uniform(0, 255, (4, 4, 3)).astype(np.float32)
        img = cv2.resize(small, (64, 64), interpolation=cv2.INTER_CUBIC)
        img = img + rng.normal(0, noise, img.shape) if noise else img
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def test_fid_of_set_with_itself_is_zero_and_grows_with_noise():
    ext = TinyFeatures()
    base = extract_features(_images(0), ext, resize="bilinear")
    same = extract_features(_images(0), ext, resize="bilinear")
    assert fid_from_features(base, same) == pytest.approx(0.0, abs=1e-6)
    fids = [fid_from_features(base, extract_features(_images(1, noise=s), ext, resize="bilinear"))
            for s in (0.0, 30.0, 60.0, 120.0)]
    assert fids[0] < fids[1] < fids[2] < fids[3], fids
    # a different draw of the same distribution is much closer than a noisy one
    assert fids[0] < 0.5 * fids[2]


def test_kid_near_zero_for_same_distribution_and_grows_with_noise():
    ext = TinyFeatures()
    rng = np.random.default_rng(0)
    a = extract_features(_images(0, n=60), ext, resize="bilinear")
    b = extract_features(_images(1, n=60), ext, resize="bilinear")
    c = extract_features(_images(1, n=60, noise=60.0), ext, resize="bilinear")
    kid_same, _ = kid_from_features(a, b, n_subsets=20, subset_size=50, rng=rng)
    kid_noisy, _ = kid_from_features(a, c, n_subsets=20, subset_size=50, rng=rng)
    assert abs(kid_same) < 0.2 * kid_noisy
    assert kid_noisy > 0


def test_fid_of_gaussians_matches_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (4000, 3))
    b = rng.normal(0, 1, (4000, 3)) + np.array([1.0, 2.0, 0.0])
    assert fid_from_features(a, b) == pytest.approx(5.0, rel=0.05)


def test_resize_batch_range_and_shape():
    imgs = [np.full((30, 50, 3), 255, np.uint8), np.zeros((64, 64, 3), np.uint8)]
    for method in ("bilinear", "bilinear_aa", "bicubic_aa", "area"):
        x = resize_batch(imgs, 32, method)
        assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
        assert float(x[0].min()) == pytest.approx(1.0) and float(x[1].max()) == pytest.approx(-1.0)


def test_crops_and_compare_sets(toy_coco):
    root = toy_coco("a", n_images=6)
    from simgen.eval.data import load_coco

    ds = load_coco(root, "synthetic")
    a = ds.annotations[0]
    crop = load_item(ImageItem(ds.image_paths[a["image_id"]], tuple(a["bbox"])))
    assert crop.shape[0] == crop.shape[1] and crop.dtype == np.uint8
    items = [ImageItem(p) for p in ds.image_paths.values()]
    res = compare_sets(items, items, TinyFeatures(), n=4, resize="bilinear_aa", batch_size=3, kid_subsets=5,
                       kid_subset_size=100, rng=np.random.default_rng(0))
    assert res["n_synthetic"] == 4 and res["n_real"] == 4 and res["headline"] == "kid"
    assert res["resolution"] == 64 and "bilinear_aa" in res["resize"]


def test_unknown_extractor_and_bad_path():
    with pytest.raises(ScoreError, match="extractor"):
        make_extractor("nope")
    with pytest.raises(ScoreError, match="not found"):
        make_extractor("inception", "/nonexistent/inception.pt")


def test_fid_trace_term_matches_scipy_sqrtm_where_sqrtm_is_accurate():
    """The exact low-rank trace (singular values of A Bᵀ) equals the classic sqrtm formula when N > D, and
    stays finite and symmetric when N < D (where sqrtm needs an eps fudge); 2048-d at N=200 in well under 1 s."""
    import time

    import scipy.linalg

    def fid_sqrtm(a, b):
        s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        d = a.mean(0) - b.mean(0)
        return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(scipy.linalg.sqrtm(s1 @ s2))))

    rng = np.random.default_rng(0)
    for n, m in ((300, 200), (50, 500)):
        mix = rng.normal(size=(16, 16))
        a = rng.normal(size=(n, 16)) @ mix
        b = rng.normal(size=(m, 16)) @ (mix + 0.3 * rng.normal(size=(16, 16))) + 0.5
        assert fid_from_features(a, b) == pytest.approx(fid_sqrtm(a, b), rel=1e-7)
    a, b = rng.normal(size=(200, 2048)), rng.normal(size=(40, 2048)) + 0.1
    t0 = time.process_time()
    f_ab, f_ba = fid_from_features(a, b), fid_from_features(b, a)
    assert np.isfinite(f_ab) and f_ab == pytest.approx(f_ba, rel=1e-9)
    assert time.process_time() - t0 < 5.0
