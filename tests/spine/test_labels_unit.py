"""Label extraction and COCO segmentation: pure numpy, no GL."""

import numpy as np
import pytest

from simgen.labels.extract import border_touching, extract, instance_stats, occlusion_candidates
from simgen.labels.segmentation import mask_to_polygons, mask_to_rle


def test_stats_bbox_and_area_exact():
    ids = np.zeros((20, 30), np.int32)
    ids[2:5, 3:9] = 1  # 3 rows x 6 cols
    ids[10, 29] = 2  # single pixel at the border
    st = instance_stats(ids)
    assert st[1] == (18, 3, 2, 8, 4)
    assert st[2] == (1, 29, 10, 29, 10)
    inst = extract(ids, {1: "a", 2: "b"}, {}, {}, min_visibility=0.0, min_area=1)
    assert [i.bbox_xywh for i in inst] == [(3.0, 2.0, 6.0, 3.0), (29.0, 10.0, 1.0, 1.0)]
    assert [i.area for i in inst] == [18, 1]
    assert border_touching(st, 20, 30) == {2}


def test_visibility_threshold_and_distractors_dropped():
    ids = np.zeros((10, 10), np.int32)
    ids[0:2, 0:2] = 1  # 4 visible px of 100 amodal -> visibility 0.04
    ids[5:9, 5:9] = 2  # distractor (no category)
    ids[3:5, 3:5] = 3
    inst = extract(ids, {1: "a", 3: "c"}, {1: 100, 3: 8}, {}, min_visibility=0.1)
    assert [i.instance_id for i in inst] == [3]
    assert inst[0].visibility == pytest.approx(0.5)


def test_occlusion_candidates_use_depth_order():
    ids = np.zeros((6, 6), np.int32)
    depth = np.zeros((6, 6), np.float32)
    ids[:, :3], depth[:, :3] = 1, 1.0
    ids[:, 3:], depth[:, 3:] = 2, 2.0  # 2 is behind 1 where they meet
    assert occlusion_candidates(ids, depth) == {2}
    ids2 = np.zeros((6, 6), np.int32)
    ids2[1:3, 1:3] = 1  # isolated object: never a candidate
    assert occlusion_candidates(ids2, depth) == set()


def _masks(rng, n=25, h=60, w=80):
    import cv2

    for _ in range(n):
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, (int(rng.integers(10, 70)), int(rng.integers(10, 50))),
                    (int(rng.integers(1, 20)), int(rng.integers(1, 20))), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        yield m.astype(bool)


def test_polygons_rasterise_back_to_the_same_pixels():
    from pycocotools import mask as mu

    rng = np.random.default_rng(0)
    for m in _masks(rng):
        ys, xs = np.nonzero(m)
        x0, y0 = xs.min(), ys.min()
        crop = m[y0:ys.max() + 1, x0:xs.max() + 1]
        polys = mask_to_polygons(crop, int(x0), int(y0))
        back = mu.decode(mu.merge(mu.frPyObjects(polys, *m.shape))).astype(bool)
        assert (back == m).all()


def test_rle_matches_pycocotools():
    from pycocotools import mask as mu

    rng = np.random.default_rng(1)
    for m in _masks(rng, 10):
        rle = mask_to_rle(m)
        back = mu.decode(mu.frPyObjects(rle, *m.shape)).astype(bool)
        assert (back == m).all()
        assert mu.area(mu.frPyObjects(rle, *m.shape)) == m.sum()


@pytest.mark.parametrize("strategy", ["rle", "default", "filtered", "huffman"])
@pytest.mark.parametrize("png_filter", ["avg", "sub", "up", "paeth", "none", "adaptive"])
def test_png_writer_is_lossless_for_every_strategy_and_filter(tmp_path, strategy, png_filter):
    import cv2

    from simgen.export.atomic import write_png

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    rgb[:10] = 7  # a flat region
    depth = rng.integers(0, 65535, (30, 40)).astype(np.uint16)
    write_png(tmp_path / "c.png", rgb, 1, strategy, png_filter)
    write_png(tmp_path / "d.png", depth, 1, strategy, png_filter)
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(tmp_path / "c.png")), cv2.COLOR_BGR2RGB), rgb)
    assert np.array_equal(cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED), depth)
