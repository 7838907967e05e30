"""``simgen gallery``: one contact sheet per family, rows off / moderate / strong."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.errors import ConfigError


def test_gallery_writes_one_sheet_per_family(tmp_path):
    import cv2

    from simgen.cli.gallery import GalleryAppConfig, build_gallery

    cfg = GalleryAppConfig(output_dir=str(tmp_path), families=["weather"], n_samples=1, width=64, height=48)
    paths = build_gallery(cfg)
    assert [p.name for p in paths] == ["weather.png"]
    img = cv2.imread(str(paths[0]))
    assert img is not None and img.shape[0] > 3 * 48 and img.shape[1] > 64
    with pytest.raises(ConfigError, match="unknown randomization famil"):
        build_gallery(GalleryAppConfig(output_dir=str(tmp_path), families=["wheather"]))
