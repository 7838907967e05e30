"""One worker: make sample ``i`` from (config, seed, i). Used by every executor (in-process, process pool, Ray).

Per sample ``i``: ``rng = Generator(PCG64(SeedSequence([seed, i])))`` -> sample_scene -> randomize (before
physics) -> simulator.settle -> randomize (after physics) -> renderer.render -> labels -> randomize (image
effects). Nothing depends on other samples, so any sample can be
re-made alone and the dataset is the same whatever the number of workers or shards.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.config import RenderAppConfig
from simgen.core.rngs import render_seed
from simgen.errors import ConfigError
from simgen.labels.amodal import label_frame
from simgen.labels.extract import Instance
from simgen.paths import assets_dir, scenes_dir
from simgen.physics import simulator_class
from simgen.randomize.pipeline import Randomizer
from simgen.renderers import renderer_class
from simgen.scene.catalog import SURFACE_KEY, WALL_KEY, AssetCatalog
from simgen.scene.model import Scene
from simgen.scene.sampler import sample_scene
from simgen.scene.spec import SceneSpec, load_scene, resolve_scene_path

log = logging.getLogger(__name__)


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The one generator of sample ``index``; every stochastic step of the sample draws from it (or children)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index)])))


@dataclass
class Sample:
    index: int
    image_id: int
    scene: Scene
    rgb: np.ndarray  # (H, W, 3) uint8, after image-space effects
    depth: np.ndarray  # (H, W) float32 metres
    instance_ids: np.ndarray  # (H, W) int32
    instances: list[Instance]
    extra_instances: list[tuple[Instance, str]] = field(default_factory=list)  # e.g. defects: (instance, category)


def resolve_scene(cfg: RenderAppConfig) -> SceneSpec:
    return load_scene(resolve_scene_path(cfg.scene, scenes_dir()))


def resolve_assets_root(cfg: RenderAppConfig) -> Path:
    if cfg.assets.root in (None, ""):
        return assets_dir()
    root = Path(cfg.assets.root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"assets.root {cfg.assets.root!r} is not a folder; pass assets.root=<folder holding the "
                          f"scene's meshes>")
    return root.resolve()


def output_size(cfg: RenderAppConfig, spec: SceneSpec) -> tuple[int, int]:
    w = cfg.render.width or spec.camera.width
    h = cfg.render.height or spec.camera.height
    return int(w), int(h)


def apply_worker_env(cfg: RenderAppConfig, threads: int) -> None:
    """Environment of a worker process that may use ``threads`` cores, as the renderer backend wants it (e.g.
    llvmpipe's thread count); values the user set already win."""
    for k, v in renderer_class(cfg.render.backend).worker_env(threads).items():
        os.environ.setdefault(k, v)


class Generator:
    """Everything one worker needs, built once: scene spec, assets, renderer, physics client, randomizers.

    ``with Generator(cfg) as g: sample = g.generate(i)``
    """

    def __init__(self, cfg: RenderAppConfig, spec: Optional[SceneSpec] = None) -> None:
        self.cfg = cfg
        self.spec = spec or resolve_scene(cfg)
        self.width, self.height = output_size(cfg, self.spec)
        self.assets_root = resolve_assets_root(cfg)
        self.catalog: Optional[AssetCatalog] = None
        self.renderer = None
        self.physics = None
        self.randomizer = Randomizer.from_config(cfg.randomization, self.spec)

    def __enter__(self) -> "Generator":
        self.catalog = AssetCatalog.from_spec(self.spec, self.assets_root, self.cfg.render.max_texture_size,
                                              self.cfg.assets.uv_orientation)
        self.randomizer.extend_catalog(self.catalog, self.assets_root)
        rc = self.cfg.render
        backend = renderer_class(rc.backend)
        self.renderer = backend.from_config(rc, self.width, self.height).__enter__()
        pools = {key: int(o.count[1]) for key, o in zip(self.catalog.object_keys, self.spec.objects)}
        self.randomizer.pool_sizes(self.catalog, pools)
        env = {SURFACE_KEY: 1}
        if WALL_KEY in self.catalog:
            env[WALL_KEY] = 4
        self.renderer.prepare(self.catalog, pools, env)
        self.physics = simulator_class(self.cfg.physics.backend).from_config(self.cfg.physics).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.renderer is not None:
            self.renderer.close()
        if self.physics is not None:
            self.physics.close()

    @property
    def categories(self) -> list[str]:
        return self.spec.categories + self.randomizer.extra_categories()

    # ------------------------------------------------------------------ one sample
    def make_scene(self, index: int, rng: np.random.Generator) -> Scene:
        assert self.catalog is not None
        scene = sample_scene(self.spec, self.catalog, rng, self.width, self.height)
        scene = self.randomizer.before_physics(scene, self.catalog, rng)
        scene = self.physics.settle(scene, self.catalog, self.spec)
        scene = self.randomizer.after_physics(scene, self.catalog, rng)
        return scene

    def generate(self, index: int) -> Sample:
        rng = sample_rng(self.cfg.seed, index)
        scene = replace(self.make_scene(index, rng), render_seed=render_seed(rng))
        frame = self.renderer.render(scene)
        instances = label_frame(self.renderer, scene, frame, self.cfg.labels.min_visibility,
                                self.cfg.labels.min_area)
        rgb, extra = self.randomizer.after_render(frame, scene, instances, rng, self.catalog)
        return Sample(index=index, image_id=index + 1, scene=scene, rgb=rgb, depth=frame.depth,
                      instance_ids=frame.instance_ids, instances=instances, extra_instances=extra)
