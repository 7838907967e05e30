"""The renderer interface every backend implements (``render.backend=<name>``; registry in :mod:`simgen.renderers`).

A renderer is created once per worker process, prepares the scene's meshes and textures once, then renders one
:class:`~simgen.scene.model.Scene` per sample. Labels never depend on how colour is made: every backend delivers an
exact instance-id map of the same poses (a raster id pass) and the unoccluded (amodal) pixel area of each object,
from which :mod:`simgen.labels` derives boxes, masks, visibility and truncation.
"""

from __future__ import annotations

from typing import Optional, Protocol, Sequence, runtime_checkable

from simgen.core.frame import Frame
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Camera, Scene


@runtime_checkable
class Renderer(Protocol):
    """``with Backend.from_config(render_cfg, width, height) as r: r.prepare(...); frame = r.render(scene)``.

    A backend class also has ``Config`` (its ``render.<name>`` dataclass), ``check_config(render_cfg)``,
    ``probe(render_cfg) -> limits`` and ``worker_env(threads) -> env`` (see the pyrender backend)."""

    def prepare(self, catalog: AssetCatalog, pool_sizes: dict[str, int], env_counts: dict[str, int]) -> None:
        """Upload every mesh once: ``pool_sizes[key]`` instances of each object kind, ``env_counts[key]`` of each
        environment mesh (surface, walls)."""

    def render(self, scene: Scene) -> Frame:
        """Colour, depth (metres along the camera z axis, 0 = nothing) and instance ids (0 = background or
        environment) of one scene, all of the same poses."""

    def amodal_areas(self, instance_ids: Sequence[int], camera: Optional[Camera] = None,
                     window: Optional[tuple[int, int, int, int]] = None) -> tuple[list[int], list[int]]:
        """For the objects of the last rendered scene: pixel count of each object's silhouette rendered alone
        (nothing occluding it), and the part of it inside ``window`` = (x0, y0, x1, y1) (exclusive ends; equal to
        the total without a window). ``camera`` overrides the scene camera's intrinsics (same image size)."""

    @property
    def info(self) -> dict[str, str]:
        """What rendered (recorded in the manifest), e.g. the GL vendor, renderer and version."""

    def close(self) -> None:
        """Free the engine's resources (also on ``__exit__``)."""
