"""``simgen gallery output_dir=<dir>``: one contact sheet PNG per randomization family.

Each sheet has three rows -- the family ``off``, ``moderate`` and ``strong`` (its presets in
``conf/randomization/<family>/``), every other family off -- and ``n_samples`` columns: the same sample indices in
every row, so the rows differ only by what that family does. Defects are drawn on ``defects_scene`` with their
masks outlined and named.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from simgen.cli.common import report_errors
from simgen.config import AssetsConfig
from simgen.paths import conf_dir
from simgen.randomize.families.defects import DEFECT_KINDS
from simgen.randomize.schema import FAMILIES, FAMILY_TYPES

log = logging.getLogger("simgen")

CONFIG_NAME = "gallery"
PRESETS = ("off", "moderate", "strong")


@dataclass
class GalleryAppConfig:
    output_dir: str = "out/gallery"
    scene: str = "default"
    defects_scene: str = "metal_parts"
    families: list[str] = field(default_factory=lambda: list(FAMILIES))  # every registered family
    n_samples: int = 4
    seed: int = 0
    width: int = 320
    height: int = 240
    assets: AssetsConfig = field(default_factory=AssetsConfig)
    # folder of photos for the background family's backdrops; null = a few generated ones (sky-like gradients)
    background_image_dir: Optional[str] = None


def register_configs() -> None:
    from simgen.cli.configs import store

    store("gallery_schema", GalleryAppConfig)


def load_preset(family: str, preset: str, textures: Optional[str] = None):
    """The family's dataclass filled from ``conf/randomization/<family>/<preset>.yaml`` (``${assets.textures}`` in it
    resolved to ``textures``)."""
    from simgen.cli.configs import register_all
    from simgen.errors import ConfigError

    register_all()  # the presets' resolvers
    path = conf_dir() / "randomization" / family / f"{preset}.yaml"
    if not path.is_file():
        raise ConfigError(f"no preset {preset!r} for randomization family {family!r} ({path})")
    root = OmegaConf.create({"assets": {"textures": textures}})
    root.node = OmegaConf.merge(OmegaConf.structured(FAMILY_TYPES[family].Config), OmegaConf.load(path))
    return OmegaConf.to_object(root.node)


def make_backdrops(folder: Path, n: int = 6, size: tuple[int, int] = (480, 360)) -> Path:
    """A few cluttered, photo-like backdrops (a gradient wall with shelves of shaded boxes and blobs) for the
    background family's sheet when no photo folder is given."""
    import cv2

    from simgen.core.imaging import hsv_rgb, value_noise

    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    for k in range(n):
        top = hsv_rgb(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.5, 1.0))
        bottom = hsv_rgb(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.7))
        img = np.ascontiguousarray(np.broadcast_to((top * (1 - yy) + bottom * yy) * 255.0, (h, w, 3)), np.float32)
        for _ in range(int(rng.integers(25, 45))):
            col = hsv_rgb(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.2, 1.0)) * 255.0
            x0, y0 = int(rng.integers(-40, w)), int(rng.integers(-40, h))
            bw, bh = int(rng.integers(15, 140)), int(rng.integers(15, 140))
            if rng.random() < 0.7:
                cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), col.tolist(), -1)
            else:
                cv2.ellipse(img, (x0, y0), (bw // 2, bh // 2), float(rng.uniform(0, 180)), 0, 360, col.tolist(), -1)
        img = img * (0.7 + 0.6 * value_noise(rng, (h, w), 6, 3)[..., None])
        img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (0, 0), 1.2)
        cv2.imwrite(str(folder / f"backdrop_{k}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return folder


def _render_row(cfg, family: str, preset: str, scene: str, image_dir: Optional[str], zoom: int = 1) -> list[tuple]:
    """Samples 0..n-1 with only ``family`` at ``preset``: [(rgb, extra instances, scene params)]. ``zoom`` > 1
    renders zoom x larger and keeps the centre (small things, e.g. defects, drawn at a useful size)."""
    from simgen.config import RenderAppConfig
    from simgen.randomize.schema import RandomizationConfig
    from simgen.run.worker import Generator

    rc = RenderAppConfig()
    rc.scene = scene
    rc.seed = cfg.seed
    rc.render.width, rc.render.height = cfg.width * zoom, cfg.height * zoom
    rc.assets.root = cfg.assets.root
    rand = RandomizationConfig()
    if preset != "off":
        fam = load_preset(family, preset, cfg.assets.textures)
        if family == "background" and image_dir:
            fam.image_dir = image_dir
        setattr(rand, family, fam)
    rc.randomization = rand
    out = []
    with Generator(rc) as g:
        for i in range(cfg.n_samples):
            s = g.generate(i)
            rgb = _draw_defects(s.rgb, s.extra_instances) if family == "defects" else s.rgb
            if zoom > 1:
                y0, x0 = (rgb.shape[0] - cfg.height) // 2, (rgb.shape[1] - cfg.width) // 2
                rgb = rgb[y0:y0 + cfg.height, x0:x0 + cfg.width]
            out.append((np.ascontiguousarray(rgb), s.extra_instances, dict(s.scene.params)))
    return out


def _caption(family: str, params: dict) -> str:
    if family == "weather":
        return str(params.get("weather", ""))
    if family == "defects":
        return f"{params.get('defects', 0)} defects"
    if family == "distractors":
        return f"{params.get('distractors', 0)} distractors"
    if family == "lighting" and "lighting" in params:
        kinds = params["lighting"]["kinds"]
        return ", ".join(f"{kinds.count(k)} {k}" for k in ("directional", "point", "spot") if k in kinds)
    return ""


def _draw_defects(rgb: np.ndarray, extras) -> np.ndarray:
    import cv2

    from simgen.export.preview import palette

    img = rgb.copy()
    names = list(DEFECT_KINDS)
    h, w = img.shape[:2]
    for inst, cat in extras:
        col = palette(names.index(cat) + 3 if cat in names else 0)
        m = inst.full_mask(h, w).astype(np.uint8)
        m = cv2.dilate(m, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, col, 1, cv2.LINE_AA)
        x, y = int(inst.bbox_xywh[0]), int(inst.bbox_xywh[1])
        cv2.putText(img, cat, (x, max(y - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.32, col, 1, cv2.LINE_AA)
    return img


def contact_sheet(family: str, rows: dict[str, list[tuple]], title: str) -> np.ndarray:
    """(H, W, 3) uint8 sheet: a title bar, then one labelled row per preset."""
    import cv2

    tiles0 = next(iter(rows.values()))
    th, tw = tiles0[0][0].shape[:2]
    pad, label_w, title_h = 4, 92, 34
    n = max(len(r) for r in rows.values())
    W = label_w + n * (tw + pad) + pad
    H = title_h + len(rows) * (th + pad) + pad
    sheet = np.full((H, W, 3), 24, np.uint8)
    cv2.putText(sheet, title, (8, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (235, 235, 235), 1, cv2.LINE_AA)
    for r, (preset, tiles) in enumerate(rows.items()):
        y = title_h + r * (th + pad)
        cv2.putText(sheet, preset, (8, y + th // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (235, 235, 235), 1,
                    cv2.LINE_AA)
        for c, (rgb, extras, params) in enumerate(tiles):
            img = rgb.copy()
            cap = _caption(family, params) if preset != "off" else ""
            if cap:
                (tw_, th_), _ = cv2.getTextSize(cap, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)
                cv2.rectangle(img, (0, 0), (tw_ + 8, th_ + 8), (0, 0, 0), -1)
                cv2.putText(img, cap, (4, th_ + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
            x = label_w + c * (tw + pad)
            sheet[y:y + th, x:x + tw] = img
    return sheet


def _title(family: str, scene: str, zoom: int) -> str:
    doc = " ".join((FAMILY_TYPES[family].Config.__doc__ or "").split())
    first = doc.split(". ")[0].rstrip(".")
    if len(first) > 110:
        first = first[:107].rsplit(" ", 1)[0] + "..."
    extra = f" [scene {scene}" + (f", centre {zoom}x]" if zoom > 1 else "]")
    return f"{family}: {first}{extra}"


def build_gallery(cfg: GalleryAppConfig) -> list[Path]:
    from simgen.errors import ConfigError
    from simgen.export import atomic

    unknown = [f for f in cfg.families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown randomization famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; choose from "
                          f"{', '.join(FAMILIES)}")
    if cfg.n_samples < 1 or cfg.width < 16 or cfg.height < 16:
        raise ConfigError("n_samples must be >= 1 and width, height >= 16")
    out = Path(cfg.output_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    off_rows: dict[tuple, list] = {}
    with tempfile.TemporaryDirectory(prefix="simgen_backdrops_") as tmp:
        image_dir = cfg.background_image_dir or str(make_backdrops(Path(tmp)))
        for family in cfg.families:
            scene = cfg.defects_scene if family == "defects" else cfg.scene
            zoom = 2 if family == "defects" else 1  # defects are small: render 2x, show the centre
            rows = {}
            for preset in PRESETS:
                log.info("gallery: %s %s (scene %s)", family, preset, scene)
                if preset == "off":
                    key = (scene, zoom)
                    if key not in off_rows:
                        off_rows[key] = _render_row(cfg, family, preset, scene, None, zoom)
                    rows[preset] = off_rows[key]
                else:
                    rows[preset] = _render_row(cfg, family, preset, scene, image_dir, zoom)
            sheet = contact_sheet(family, rows, _title(family, scene, zoom))
            path = out / f"{family}.png"
            atomic.write_png(path, sheet, 6)
            written.append(path)
            log.info("gallery: wrote %s", path)
    return written


register_configs()


@report_errors
def _run(cfg: DictConfig) -> None:
    build_gallery(OmegaConf.to_object(cfg))  # type: ignore[arg-type]


@hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")
def main(cfg: DictConfig) -> None:
    _run(cfg)


if __name__ == "__main__":
    main()
