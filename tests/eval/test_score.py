"""score_datasets protocols, input errors, Hydra config and the `simgen score` command end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

from simgen.errors import ScoreError
from simgen.eval.schema import AugmentSettings, FidSettings, ScoreSettings

REPO = Path(__file__).resolve().parents[2]
REPORT_KEYS = {"map", "ap50", "ap75", "per_class", "fid", "kid", "fid_info", "detector", "iterations",
               "train_time_s", "device", "image_size", "protocol", "settings", "coverage", "plots"}


def tiny_settings(**kw) -> ScoreSettings:
    base = dict(iterations=2, batch_size=2, image_size=96, max_size=128, warmup_iters=0, checkpoint_every=0,
                n_draw=1, coverage_max_images=10, augment=AugmentSettings(noise=0.0, blur=0.0),
                fid=FidSettings(extractor="tiny", n=8, kid_subsets=3))
    base.update(kw)
    return ScoreSettings(**base)


# ---- settings / config (no torch) ---------------------------------------------------------------------------

def test_settings_validation():
    with pytest.raises(ScoreError, match="score.detector='yolo'"):
        ScoreSettings(detector="yolo")
    with pytest.raises(ScoreError, match="mix_ratio"):
        ScoreSettings(mix_ratio=1.5)
    with pytest.raises(ScoreError, match="scale_min"):
        ScoreSettings(augment=AugmentSettings(scale_min=2.0, scale_max=1.0))
    with pytest.raises(ScoreError, match="num_threads"):
        ScoreSettings(num_threads=-1)
    assert ScoreSettings(image_size=480).resolved_max_size == 640
    assert ScoreSettings(image_size=256).resolved_max_size == 352


def test_hydra_compose_presets_and_strictness():
    from hydra import compose, initialize_config_dir

    from simgen.cli.configs import register_all as register_configs
    from simgen.cli.configs import score_settings

    register_configs()
    register_configs()  # idempotent
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="score", overrides=["score=quick", "score.lr=0.02", "real_dir=/r"])
        s = score_settings(cfg.score)
        assert isinstance(s, ScoreSettings) and s.lr == 0.02 and s.iterations < 100 and s.image_size <= 320
        assert cfg.real_dir == "/r" and cfg.device == "auto"
        default = score_settings(compose(config_name="score").score)
        assert default.detector == "faster_rcnn" and default.backbone == "efficientnet_lite0"
        with pytest.raises(Exception, match="bogus"):
            compose(config_name="score", overrides=["score.bogus=1"])
        with pytest.raises(Exception, match="iterations"):
            compose(config_name="score", overrides=["score.iterations=many"])


# ---- library API (torch) ------------------------------------------------------------------------------------

torch_mark = pytest.mark.torch


def _need_torch():
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")


@torch_mark
@pytest.mark.parametrize("protocol", ["real", "synthetic_then_real", "mixed"])
def test_protocols_run(toy_coco, tmp_path, protocol):
    _need_torch()
    from simgen.eval import score_datasets

    syn = toy_coco("syn", n_images=6, size=(128, 96))
    rtrain = toy_coco("rtrain", n_images=4, size=(128, 96), seed=2, visibility=False)
    real = toy_coco("real", n_images=4, size=(128, 96), seed=3, visibility=False)
    import torch

    threads = torch.get_num_threads()
    rep = score_datasets(syn, real, tmp_path / "out",
                         tiny_settings(protocol=protocol, finetune_iterations=2, num_threads=1),
                         real_train_dir=rtrain, seed=1, device="cpu")
    assert torch.get_num_threads() == threads and rep["torch_threads"] == 1
    assert REPORT_KEYS <= rep.keys()
    assert rep["protocol"] == protocol
    expect = {"real": 2, "synthetic_then_real": 4, "mixed": 2}[protocol]
    assert rep["iterations"] == expect
    assert (tmp_path / "out" / "detections.json").is_file()


@torch_mark
def test_score_input_errors(toy_coco, tmp_path):
    _need_torch()
    from simgen.eval import score_datasets

    syn = toy_coco("syn", n_images=3)
    real = toy_coco("real", n_images=3, seed=1)
    with pytest.raises(ScoreError, match="never train on the test"):
        score_datasets(syn, real, tmp_path / "o", tiny_settings(protocol="mixed"), real_train_dir=real)
    with pytest.raises(ScoreError, match="needs real_train_dir"):
        score_datasets(syn, real, tmp_path / "o", tiny_settings(protocol="real"))
    other = toy_coco("other", n_images=3, categories=("green_triangle",))
    with pytest.raises(ScoreError, match="no category names in common"):
        score_datasets(other, real, tmp_path / "o", tiny_settings())
    (syn / "annotations.json").write_text("not json")
    with pytest.raises(ScoreError, match="not valid JSON"):
        score_datasets(syn, real, tmp_path / "o", tiny_settings())


def _run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIMGEN_NO_PROGRESS="1")
    return subprocess.run([sys.executable, "-m", "simgen.cli.main", "score", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_errors_are_one_line(toy_coco, tmp_path):
    syn = toy_coco("syn", n_images=3)
    real = toy_coco("real", n_images=3, seed=1)
    (real / "images" / "000001.png").unlink()
    r = _run_cli(f"synthetic_dir={syn}", f"real_dir={real}", f"output_dir={tmp_path / 'o'}")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().startswith("simgen: error: real set") and "missing" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _run_cli(f"real_dir={real}", "score.nonsense=1")
    assert r.returncode != 0 and "nonsense" in r.stderr


@torch_mark
def test_cli_quick_end_to_end(toy_coco, tmp_path):
    _need_torch()
    syn = toy_coco("syn", n_images=12, size=(160, 120))
    real = toy_coco("real", n_images=6, size=(160, 120), seed=5, noise_level=30, visibility=False)
    out = tmp_path / "score"
    r = _run_cli(f"synthetic_dir={syn}", f"real_dir={real}", f"output_dir={out}", "score=quick",
                 "score.iterations=12")  # the quick preset, shortened: test_train covers learning
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= rep.keys()
    assert 0.0 <= rep["map"] <= 1.0 and rep["kid"] is not None and rep["fid"] >= 0
    assert set(rep["per_class"]) == {"red_box", "blue_disc"}
    assert rep["fid_info"]["extractor"] == "inception" and rep["fid_info"]["resolution"] == 299
    assert rep["fid_info"]["n_synthetic"] == 12 and rep["fid_info"]["n_real"] == 6
    assert rep["fid_info"]["headline"] == "kid"
    for name in ("report.md", "detections.json", "pr_curves.png", "detections_real.png", "coverage_boxes.png",
                 "coverage_position.png", "coverage_images_classes.png", "coverage_scale_per_class.png"):
        assert (out / name).is_file(), name
    dets = json.loads((out / "detections.json").read_text())
    assert all({"image_id", "category_id", "bbox", "score"} <= d.keys() for d in dets)
    assert not list(tmp_path.glob("**/.hydra"))
