"""Engine-free concrete scene: what one sample looks like (poses, camera, lights).

Engines (pybullet, pyrender) translate this model at their boundary.

Conventions: metres, radians; ``T_world_obj`` is a (4, 4) float64 rigid transform (object -> world);
``T_world_cam`` uses the OpenCV camera frame (x right, y down, z forward). Convert to OpenGL's camera frame
(y up, -z forward) only with :func:`cv_to_gl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:  # annotations only
    from simgen.scene.panorama import Envmap

_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def cv_to_gl(T_world_cam_cv: np.ndarray) -> np.ndarray:
    """OpenCV camera pose (z forward, y down) -> OpenGL camera pose (-z forward, y up). (4, 4) float64."""
    return np.asarray(T_world_cam_cv, dtype=np.float64) @ _CV_TO_GL


@dataclass
class Camera:
    """Pinhole camera. Intrinsics in pixels for an image of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    znear: float
    zfar: float
    T_world_cam: np.ndarray = field(default_factory=lambda: np.eye(4))  # OpenCV frame

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 intrinsics matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def resized(self, width: int, height: int) -> "Camera":
        """Same field of view at another resolution (intrinsics scaled)."""
        sx, sy = width / self.width, height / self.height
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=self.cx * sx, cy=self.cy * sy,
                       width=int(width), height=int(height))

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixel coordinates (u right, v down; pixel centres at integer + 0.5)."""
        T_cam_world = np.linalg.inv(self.T_world_cam)
        p = points_world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
        return np.stack([self.fx * p[:, 0] / p[:, 2] + self.cx, self.fy * p[:, 1] / p[:, 2] + self.cy], axis=1)


@dataclass
class Light:
    kind: str  # directional | point | spot
    color: np.ndarray  # (3,) float, 0..1
    intensity: float  # W/m^2 (directional) or candela-like (point/spot), as pyrender
    T_world_light: np.ndarray  # (4, 4); lights shine along their local -z
    inner_cone: float = 0.0  # spot only, radians
    outer_cone: float = np.pi / 4


@dataclass
class ObjectInstance:
    """One placed object. ``instance_id`` >= 1 is its value in the instance-id map."""

    instance_id: int
    asset_key: str
    category: Optional[str]  # None: unlabelled distractor
    scale: float
    T_world_obj: np.ndarray  # (4, 4) float64
    # material overrides for this sample (None = the asset's own)
    color_factor: Optional[np.ndarray] = None  # (4,) multiplies the base colour / texture
    metallic: Optional[float] = None
    roughness: Optional[float] = None


@dataclass
class Scene:
    objects: list[ObjectInstance]
    camera: Camera
    lights: list[Light]
    ambient: np.ndarray  # (3,) float
    bg_color: np.ndarray  # (3,) float, 0..1
    # static environment (surface, walls): (asset_key, T_world_obj) pairs, never labelled
    environment: list[tuple[str, np.ndarray]] = field(default_factory=list)
    # free-form per-sample parameters drawn by randomizers (for the record and for image-space effects)
    params: dict = field(default_factory=dict)
    # an HDR panorama around the scene (background and, for path tracing, light); None = bg_color
    envmap: Optional["Envmap"] = None
    # diffuse ambient light as order-2 spherical harmonics of radiance, (9, 3) linear RGB, world frame (z up);
    # None = the constant ``ambient`` (a raster renderer's image-based light, e.g. from the panorama)
    ambient_sh: Optional[np.ndarray] = None
    # seed of a stochastic renderer (path tracing) for this sample; derived from the sample's seed
    render_seed: int = 0

    @property
    def labelled(self) -> list[ObjectInstance]:
        return [o for o in self.objects if o.category is not None]

    def with_objects(self, objects: list[ObjectInstance]) -> "Scene":
        return replace(self, objects=objects)
