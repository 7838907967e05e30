"""Generate one sample; run one shard. Used by every executor (in-process, process pool, Ray).

Per sample ``i``: ``rng = Generator(PCG64(SeedSequence([seed, i])))`` -> sample_scene -> physics.settle ->
render -> image-space effects -> labels.extract -> write. Nothing depends on other samples, so any sample can be
re-made alone and the dataset is the same whatever the number of workers or shards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from simgen.config import RenderAppConfig
from simgen.errors import ConfigError
from simgen.labels.extract import Instance, border_touching, extract, instance_stats
from simgen.scene.catalog import SURFACE_KEY, WALL_KEY, AssetCatalog
from simgen.scene.model import Camera, Scene
from simgen.scene.spec import SceneSpec, load_scene, resolve_scene_path
from simgen.paths import assets_dir, scenes_dir

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
        from simgen.randomize.pipeline import Randomizer

        self.randomizer = Randomizer.from_config(cfg.randomization, self.spec)

    def __enter__(self) -> "Generator":
        from simgen.physics.pybullet import PhysicsWorld
        from simgen.render.pyrender.backend import PyrenderRenderer

        self.catalog = AssetCatalog.from_spec(self.spec, self.assets_root, self.cfg.render.max_texture_size)
        self.randomizer.extend_catalog(self.catalog, self.assets_root)
        self.renderer = PyrenderRenderer(self.width, self.height, self.cfg.render.platform,
                                         self.cfg.render.msaa).__enter__()
        pools = {key: int(o.count[1]) for key, o in zip(self.catalog.object_keys, self.spec.objects)}
        pools.update(self.randomizer.pool_sizes(self.catalog))
        env = {SURFACE_KEY: 1}
        if WALL_KEY in self.catalog:
            env[WALL_KEY] = 4
        self.renderer.prepare(self.catalog, pools, env)
        self.physics = PhysicsWorld().__enter__()
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
        from simgen.physics.pybullet import settle
        from simgen.scene.sampler import sample_scene

        assert self.catalog is not None
        scene = sample_scene(self.spec, self.catalog, rng, self.width, self.height)
        scene = self.randomizer.before_physics(scene, self.catalog, rng)
        scene = settle(self.physics, scene, self.catalog, self.spec)
        scene = self.randomizer.after_physics(scene, self.catalog, rng)
        return scene

    def generate(self, index: int) -> Sample:
        rng = sample_rng(self.cfg.seed, index)
        scene = self.make_scene(index, rng)
        frame, id_nodes = self.renderer.render(scene)
        instances = label_frame(self.renderer, scene, frame, id_nodes, self.cfg.labels.min_visibility,
                                self.cfg.labels.min_area)
        rgb, extra = self.randomizer.after_render(frame, scene, instances, rng)
        return Sample(index=index, image_id=index + 1, scene=scene, rgb=rgb, depth=frame.depth,
                      instance_ids=frame.instance_ids, instances=instances, extra_instances=extra)


def label_frame(renderer, scene: Scene, frame, id_nodes: dict, min_visibility: float = 0.1,
                min_area: int = 1) -> list[Instance]:
    """Exact labels of one rendered frame.

    Visibility: every labelled object in view is rendered alone, all in one silhouette pass (one bit per object,
    see ``PyrenderRenderer.silhouette_areas``), so occlusion by anything (other objects, distractors, the table)
    is counted. Truncation: objects touching the border are rendered alone in a 2x wider view at the same image
    size (half resolution), so their silhouette outside the image is counted (a second pass).
    """
    ids = frame.instance_ids
    stats = instance_stats(ids)
    categories = {o.instance_id: o.category for o in scene.objects if o.category is not None}
    present = sorted(i for i in stats if i in categories)
    amodal: dict[int, int] = {}
    if present:
        totals, _ = renderer.silhouette_areas([id_nodes[i] for i in present])
        amodal = dict(zip(present, totals))
    trunc: dict[int, float] = {}
    c = scene.camera
    touching = sorted(border_touching(stats, c.height, c.width) & set(present))
    if touching:
        wide = Camera(fx=c.fx / 2, fy=c.fy / 2, cx=c.cx / 2 + c.width / 4, cy=c.cy / 2 + c.height / 4,
                      width=c.width, height=c.height, znear=c.znear, zfar=c.zfar, T_world_cam=c.T_world_cam)
        x0, y0 = c.width // 4, c.height // 4
        totals, inside = renderer.silhouette_areas([id_nodes[i] for i in touching], wide,
                                                   (x0, y0, x0 + c.width // 2, y0 + c.height // 2))
        for iid, total, n_in in zip(touching, totals, inside):
            trunc[iid] = 0.0 if total == 0 else max(0.0, 1.0 - n_in / total)
    return extract(ids, categories, amodal, trunc, min_visibility, min_area, stats=stats)
