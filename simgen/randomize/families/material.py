"""Material: per-instance colour (hue rotation on untextured objects, a tint on textured ones), brightness,
metallic and roughness; procedural textures on untextured objects and hue-rotated textures on textured ones
(banks of variants of each mesh, made and uploaded once; an instance switches to a variant by its asset key, the
geometry and physics hull stay the same)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from simgen.core.checks import check
from simgen.core.dist import Dist, const, normal, optional, uniform
from simgen.core.imaging import hsv_rgb, rotate_hue
from simgen.randomize.families.assets import bank_rng, textured_variant
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import Scene
from simgen.scene.textures import PROCEDURAL_TEXTURES


@dataclass
class MaterialConfig:
    """Per-instance colour jitter, metallic/roughness, procedural textures on untextured objects."""

    enabled: bool = False
    # untextured objects: hue rotation of the base colour (degrees)
    hue_shift_deg: Dist = normal(0.0, 12.0, -40.0, 40.0)
    # textured objects: a tint (random hue, this saturation) multiplies the texture -- colour_factor is a
    # per-channel multiplier, so on textures this shifts the white point rather than rotating every hue
    tint_saturation: Dist = uniform(0.0, 0.15, min=0.0, max=1.0)
    brightness: Dist = uniform(0.8, 1.15, min=0.0)
    metallic: Optional[Dist] = optional(min=0.0, max=1.0)  # null: the asset's own
    roughness: Optional[Dist] = optional(min=0.0, max=1.0)
    # chance that an untextured object instance wears a procedural texture from the bank
    texture_probability: Dist = const(0.3, min=0.0, max=1.0)
    textures: list[str] = field(default_factory=lambda: ["noise", "stripes", "checker", "gradient"],
                                metadata=check(names=PROCEDURAL_TEXTURES, nonempty=True))
    # textured variants per untextured object kind, made (and uploaded) once at start
    texture_bank: int = field(default=3, metadata=check(integer=True, min=0, max=64))
    # textured objects: chance an instance wears a hue-rotated copy of its texture (hue_bank copies per kind,
    # rotations spread around the colour wheel, made and uploaded once; 0 = none)
    hue_probability: Dist = const(0.5, min=0.0, max=1.0)
    hue_bank: int = field(default=0, metadata=check(integer=True, min=0, max=64))


def variant_key(key: str, j: int) -> str:
    return f"{key}#tex{j}"


def hue_key(key: str, j: int) -> str:
    return f"{key}#hue{j}"


def hue_rotated(texture: np.ndarray, turns: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB texture with every hue rotated by ``turns`` (saturation and value kept)."""
    import cv2

    hsv = cv2.cvtColor(texture, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(turns * 180))) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def build_variants(cfg: MaterialConfig, catalog, keys: list[str]) -> dict[str, list[str]]:
    """Variants of the meshes in ``keys`` (added to ``catalog``): procedurally textured copies of untextured
    meshes, hue-rotated copies of textured ones. Returns {key: [variant keys]}."""
    out: dict[str, list[str]] = {}
    textures_on = cfg.texture_probability.bounds()[1] > 0 and cfg.texture_bank > 0
    hues_on = cfg.hue_probability.bounds()[1] > 0 and cfg.hue_bank > 0
    for key in keys:
        m = catalog[key]
        if m.texture is not None:
            if hues_on:
                rng = bank_rng("material-hue", key)
                vs = []
                for j in range(cfg.hue_bank):
                    turns = (j + 1) / (cfg.hue_bank + 1) + rng.uniform(-0.05, 0.05)
                    vk = hue_key(key, j)
                    catalog.meshes[vk] = replace(m, key=vk, texture=hue_rotated(m.texture, turns),
                                                 source=f"{m.source} hue {turns:+.2f}")
                    vs.append(vk)
                out[key] = vs
            continue
        if not textures_on:
            continue
        rng = bank_rng("material", key)
        vs = []
        for j in range(cfg.texture_bank):
            kind = cfg.textures[j % len(cfg.textures)]
            base = np.asarray(m.base_color[:3], np.float64)
            colour = np.clip(base * rng.uniform(0.8, 1.2), 0, 1)
            vk = variant_key(key, j)
            catalog.meshes[vk] = textured_variant(m, vk, kind, rng, colour=colour)
            vs.append(vk)
        out[key] = vs
    return out


def apply(scene: Scene, cfg: MaterialConfig, catalog, variants: dict[str, list[str]],
          rng: np.random.Generator) -> Scene:
    objects = []
    for o in scene.objects:
        hue = float(cfg.hue_shift_deg.sample(rng)) / 360.0
        tint_h = float(rng.random())
        tint_s = float(cfg.tint_saturation.sample(rng))
        bright = float(cfg.brightness.sample(rng))
        metallic = float(cfg.metallic.sample(rng)) if cfg.metallic is not None else None
        roughness = float(cfg.roughness.sample(rng)) if cfg.roughness is not None else None
        tex_p = float(cfg.texture_probability.sample(rng))
        u_tex = float(rng.random())
        k_tex = int(rng.integers(1 << 30))
        key = o.asset_key
        vs = variants.get(key)
        hue_p = float(cfg.hue_probability.sample(rng))
        p = hue_p if catalog[key].texture is not None else tex_p
        if vs and u_tex < p:
            key = vs[k_tex % len(vs)]
        m = catalog[key]
        if m.texture is None:  # rotate the base colour's hue; factor = target / base (the renderer multiplies)
            base = np.asarray(m.base_color[:3], np.float64)
            target = np.clip(rotate_hue(base, hue) * bright, 0, 1)
            factor = target / np.maximum(base, 1e-3)
        else:
            tint = hsv_rgb(tint_h, tint_s, 1.0)
            factor = tint / tint.max() * bright
        cf = np.concatenate([factor, [1.0]])
        # always explicit (the renderer keeps a node's last metallic/roughness when given None)
        metallic = float(m.metallic) if metallic is None else metallic
        roughness = float(m.roughness) if roughness is None else roughness
        objects.append(replace(o, asset_key=key, color_factor=cf, metallic=metallic, roughness=roughness))
    return scene.with_objects(objects)


class MaterialFamily(Family):
    name = "material"
    stream_id = 4
    order = 30
    Config = MaterialConfig

    def __init__(self, cfg: MaterialConfig, spec) -> None:
        super().__init__(cfg, spec)
        self.variants: dict[str, list[str]] = {}

    def setup(self, catalog, assets_root) -> None:
        keys = list(catalog.object_keys) + list(catalog.groups.get("distractor_meshes", []))
        self.variants = build_variants(self.cfg, catalog, keys)

    def pool_sizes(self, catalog, pools: dict[str, int]) -> None:
        for key, vs in self.variants.items():
            for v in vs:  # a variant replaces an instance of its base mesh: as many as of the base
                pools[v] = pools.get(key, 0)

    def after_physics(self, ctx: SampleContext) -> None:
        ctx.scene = apply(ctx.scene, self.cfg, ctx.catalog, self.variants, ctx.rng)
