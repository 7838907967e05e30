"""The benchmark helpers still match the installed pyrender (a silent no-op variant would mislead)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_colour_pass_variants_change_the_stock_shader():
    pyrender = pytest.importorskip("pyrender")
    from colour_pass import variants

    stock = (Path(pyrender.__file__).parent / "shaders" / "mesh.frag").read_text()
    v = variants(stock)
    assert set(v) == {"stock", "flat", "no_texture", "lambert"}
    assert v["stock"] == stock
    for name in ("flat", "no_texture", "lambert"):
        assert v[name] != stock, name
    assert "texture(material.base_color_texture" not in v["no_texture"].split("void main()")[1]


def test_clutter_false_positives_counted_at_equal_recall(tmp_path):
    """Clutter detections count from the score where recall first reaches the target, so two detectors that
    differ only in confidence give the same number; a detector that never reaches it gives None."""
    import json

    from sim2real_table import clutter_false_positives, clutter_false_positives_at_recall

    real, score = tmp_path / "real", tmp_path / "score"
    real.mkdir(), score.mkdir()
    gt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
          {"image_id": 1, "category_id": 2, "bbox": [50, 50, 10, 10]}]
    (real / "annotations.json").write_text(json.dumps({"annotations": gt}))

    def write(scale):
        dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9 * scale},
                {"image_id": 1, "category_id": 1, "bbox": [100, 100, 5, 5], "score": 0.8 * scale},  # clutter
                {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.7 * scale},  # wrong class
                {"image_id": 1, "category_id": 2, "bbox": [50, 50, 10, 10], "score": 0.6 * scale},
                {"image_id": 1, "category_id": 2, "bbox": [200, 200, 5, 5], "score": 0.5 * scale}]  # clutter, later
        (score / "detections.json").write_text(json.dumps(dets))

    write(1.0)
    assert clutter_false_positives(score, real, 0.5) == 2
    assert clutter_false_positives_at_recall(score, real, 0.5) == 0  # first object found at 0.9
    assert clutter_false_positives_at_recall(score, real, 1.0) == 1  # both found at 0.6: one clutter above
    write(0.5)  # the same detector, less confident: the fixed-score count changes, the equal-recall one does not
    assert clutter_false_positives(score, real, 0.5) == 0
    assert clutter_false_positives_at_recall(score, real, 1.0) == 1
    gt.append({"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10]})
    (real / "annotations.json").write_text(json.dumps({"annotations": gt}))
    assert clutter_false_positives_at_recall(score, real, 1.0) is None


def test_seed_pairs_pairs_by_seed_with_a_t_interval():
    """Only seeds both rows ran are paired; the mean difference and its 95% t-interval are the textbook ones
    (differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, half-width 4.303 * 0.1 / sqrt(3))."""
    from seed_pairs import paired, runs_by_seed, summary

    rows = runs_by_seed([], ["a:0:0.5:10:1:-", "a:1:0.6:20:2:-", "a:2:0.4:30:3:-", "a:7:0.9:1:1:-",
                             "b:0:0.6:5:0:-", "b:1:0.8:5:0:-", "b:2:0.7:5:0:-"])
    seeds, diffs = paired(rows["a"], rows["b"], "map")
    assert seeds == [0, 1, 2] and diffs == pytest.approx([0.1, 0.2, 0.3])
    assert paired(rows["a"], rows["b"], "kid") == ([], [])  # KID not recorded: not paired, not a zero
    line = next(ln for ln in summary(rows["a"], rows["b"], "A", "B").splitlines() if ln.startswith("| mAP"))
    half = 4.303 * 0.1 / 3 ** 0.5
    assert "+0.100, +0.200, +0.300" in line and f"+0.200 [{0.2 - half:+.3f}, {0.2 + half:+.3f}]" in line
    assert "KID" not in summary(rows["a"], rows["b"], "A", "B")
