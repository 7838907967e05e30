"""``render.backend=mitsuba``: path-traced colour (Mitsuba 3 on the CPU) with labels from the raster id pass.

Every sample is rendered twice from the same poses: pyrender makes the depth, the instance ids and the amodal
areas (so labels are exactly those of the raster backend), Mitsuba makes the colour image (physically based: soft
shadows, interreflections, the panorama as the light). The path tracer's seed is the sample's
``scene.render_seed``, so the same config and seed give the same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional, Sequence

from simgen.core.frame import Frame
from simgen.errors import RenderError
from simgen.renderers.mitsuba.config import MitsubaConfig
from simgen.renderers.mitsuba.renderer import MitsubaColourRenderer, PathTraceSettings
from simgen.renderers.pyrender.backend import PyrenderRenderer
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Camera, Scene

log = logging.getLogger(__name__)

_INSTALL = "install the path tracer: pip install 'simgen[pathtrace]' (mitsuba, pyoidn)"


class MitsubaRenderer:
    """Implements :class:`simgen.renderers.base.Renderer`: raster labels + path-traced colour."""

    Config = MitsubaConfig

    @classmethod
    def check_config(cls, render_cfg) -> None:
        PyrenderRenderer.check_config(render_cfg)
        try:
            import mitsuba  # noqa: F401
        except ImportError:
            raise RenderError(f"render.backend=mitsuba needs Mitsuba 3; {_INSTALL}") from None
        if render_cfg.mitsuba.denoise == "oidn":
            try:
                import pyoidn  # noqa: F401
            except ImportError:
                raise RenderError(f"render.mitsuba.denoise=oidn needs pyoidn; {_INSTALL}, or set "
                                  f"render.mitsuba.denoise=nlmeans") from None

    @classmethod
    def probe(cls, render_cfg) -> dict:
        return PyrenderRenderer.probe(render_cfg)

    @staticmethod
    def worker_env(threads: int) -> dict[str, str]:
        return PyrenderRenderer.worker_env(threads)

    @classmethod
    def from_config(cls, render_cfg, width: int, height: int) -> "MitsubaRenderer":
        return cls(PyrenderRenderer.from_config(render_cfg, width, height), render_cfg.mitsuba, width, height)

    def __init__(self, raster: PyrenderRenderer, cfg: MitsubaConfig, width: int, height: int) -> None:
        self.raster = raster
        self.cfg = cfg
        self.width, self.height = int(width), int(height)
        self.tracer = None

    def __enter__(self) -> "MitsubaRenderer":
        self.raster.__enter__()
        c = self.cfg
        self.tracer = MitsubaColourRenderer.from_settings(
            self.width, self.height, PathTraceSettings(spp=c.spp, max_depth=c.max_depth, denoise=c.denoise,
                                                       variant=c.variant, threads=c.threads, rfilter=c.rfilter))
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.tracer is not None:
            self.tracer.close()
            self.tracer = None
        self.raster.close()

    @property
    def info(self) -> dict[str, str]:
        c = self.cfg
        return {**self.raster.info, "colour": f"mitsuba {getattr(self.tracer, 'variant', c.variant)} spp {c.spp} "
                                              f"denoise {c.denoise}"}

    def prepare(self, catalog: AssetCatalog, pool_sizes: dict[str, int], env_counts: dict[str, int]) -> None:
        self.raster.prepare(catalog, pool_sizes, env_counts)
        self.tracer.prepare(catalog)

    def render(self, scene: Scene) -> Frame:
        frame = self.raster.render(scene)
        traced = scene
        if scene.params.get("lights_from_panorama"):  # the panorama already holds its key light
            traced = replace(scene, lights=[], ambient_sh=None)
        frame.rgb = self.tracer.render(traced, seed=int(scene.render_seed))
        frame.environment_drawn = scene.envmap is not None
        return frame

    def amodal_areas(self, instance_ids: Sequence[int], camera: Optional[Camera] = None,
                     window: Optional[tuple[int, int, int, int]] = None) -> tuple[list[int], list[int]]:
        return self.raster.amodal_areas(instance_ids, camera, window)
