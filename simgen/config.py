"""Typed configuration (dataclasses registered in Hydra's ConfigStore).

Only ``simgen/cli`` sees DictConfig objects; library code receives these dataclasses (or plain values) through
``from_config`` constructors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Optional

from simgen.core.checks import check
from simgen.export import format_names
from simgen.export.atomic import PNG_FILTERS, PNG_STRATEGIES
from simgen.randomize.schema import RandomizationConfig
from simgen.renderers import BACKENDS, config_class
from simgen.scene.catalog import UV_ORIENTATIONS

# Documented upper bounds of a job (docs: README "Limits"): checked before anything is written.
MAX_IMAGES = 1_000_000
MAX_IMAGE_SIDE = 16384  # and the renderer's own limit (e.g. GL_MAX_RENDERBUFFER_SIZE), whichever is smaller
MAX_WORKERS = 256
MAX_SEED = 2**63 - 1


@dataclass
class AssetsConfig:
    # Folder that scene mesh/texture paths are relative to; null = simgen's built-in assets/ folder.
    root: Optional[str] = None
    # Folder of photographic material: surfaces/ (JPEG/PNG colour photos) and panoramas/ (equirectangular .hdr),
    # e.g. ../shared/textures. The moderate and strong presets then draw the table, walls and clutter from the
    # photos and put the scene inside the panoramas (which also light it); null = procedural textures only.
    textures: Optional[str] = None
    # A mesh's atlas texture that does not match its UVs (black patches where faces sample the atlas's empty
    # background; five of the six textured YCB-Video meshes): auto = remap the UVs to the rotation/mirror of the
    # image that fits clearly, else fill the empty background with neighbouring colour; remap = only the first;
    # as_is = the file as it is. Every repair is logged with the mesh's name.
    uv_orientation: str = field(default="auto", metadata=check(choices=UV_ORIENTATIONS))


@dataclass
class RenderSettings:
    """``render.*`` keys every backend shares; each backend's own keys are under ``render.<backend>``."""

    # Output resolution; null = the scene camera's width/height (intrinsics are scaled to match).
    width: Optional[int] = field(default=None, metadata=check(integer=True, min=1, max=MAX_IMAGE_SIDE))
    height: Optional[int] = field(default=None, metadata=check(integer=True, min=1, max=MAX_IMAGE_SIDE))
    # Which renderer makes the colour image (simgen.renderers.BACKENDS); labels always come from an exact id pass.
    backend: str = "pyrender"
    # Largest texture side uploaded to the renderer (textures are downscaled once at load time).
    max_texture_size: int = field(default=1024, metadata=check(integer=True, min=16, max=MAX_IMAGE_SIDE))


def _backend_fields() -> list:

    return [(name, config_class(name), field(default_factory=config_class(name))) for name in BACKENDS]


# render.* = the shared keys + one sub-config per registered backend (render.pyrender.*, ...)
RenderConfig = make_dataclass("RenderConfig", _backend_fields(), bases=(RenderSettings,))
RenderConfig.__module__ = __name__
RenderConfig.__doc__ = "``render.*``: " + (RenderSettings.__doc__ or "")


@dataclass
class PhysicsConfig:
    # Which simulator settles the objects (simgen.physics.SIMULATORS); its parameters are in the scene file.
    backend: str = "pybullet"


@dataclass
class LabelsConfig:
    # Drop objects whose visible fraction (visible px / px when rendered alone) is below this.
    min_visibility: float = field(default=0.1, metadata=check(min=0.0, max=1.0))
    # Drop objects with fewer visible pixels than this.
    min_area: int = field(default=16, metadata=check(integer=True, min=1, max=MAX_IMAGE_SIDE**2))
    # COCO segmentation encoding: polygon (default; torchvision's loader reads it) or rle (uncompressed counts).
    segmentation: str = field(default="polygon", metadata=check(choices=("polygon", "rle")))


@dataclass
class ExportConfig:
    # coco (annotations.json only) or coco plus another format (yolo: a yolo/ folder in the ultralytics layout)
    format: str = field(default="coco", metadata=check(choices=format_names))
    # PNG zlib level 0-9 (1 = fast, files ~10% larger than 9).
    png_compression: int = field(default=1, metadata=check(integer=True, min=0, max=9))
    # zlib strategy: rle (fast and small on rendered images, depth and id maps), default, filtered, huffman.
    png_strategy: str = field(default="rle", metadata=check(choices=PNG_STRATEGIES))
    # PNG row filter: avg (fast, files within 3% of the best), sub, up, paeth, none, adaptive (libpng's per-row pick)
    png_filter: str = field(default="avg", metadata=check(choices=PNG_FILTERS))
    # Encode and write sample i in a writer thread while sample i + 1 renders (same files; faster on 1 worker).
    async_write: bool = True
    # Write depth maps as 16-bit PNG in millimetres under depth/.
    depth: bool = True
    # Write instance-id maps as 16-bit PNG under instances/ (0 = background).
    instance_maps: bool = False
    # Contact sheet of the first samples with boxes, class names and masks.
    preview: bool = True
    # how many of the first images the contact sheet shows
    preview_n: int = field(default=9, metadata=check(integer=True, min=1, max=100))


@dataclass
class ExecutorConfig:
    """Where shards run (``executor=local|ray``; conf/executor/<name>.yaml). Never changes the dataset's bytes."""

    # local: this process (workers=1) or a pool of `workers` spawned processes; ray: `workers` Ray actors.
    name: str = "local"
    # ray: cluster to join; null = start a private local Ray instance; "auto" = the cluster this machine is in;
    # "ray://<head>:10001" = Ray Client.
    address: Optional[str] = None
    # ray, private local instance only: CPUs it may use (null = all).
    num_cpus: Optional[int] = None
    # ray: resources each worker actor reserves (one actor = one GL context + one pybullet client).
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    # ray: who writes the files. driver: actors send encoded PNGs + labels back and this process writes them
    # (no shared filesystem needed); worker: actors write into output_dir directly (must be the same path on
    # every node, e.g. NFS).
    write_on: str = field(default="driver", metadata=check(choices=("driver", "worker")))
    # ray: restart a dead actor / retry its shard this many times (shards are idempotent).
    max_retries: int = field(default=2, metadata=check(integer=True, min=0, max=100))


@dataclass
class RenderAppConfig:
    """``simgen render``: scene description + seed -> labelled COCO dataset."""

    # a scene in scenes/ by name, or the path of a .yaml scene file
    scene: str = "default"
    n_images: int = field(default=16, metadata=check(integer=True, min=1, max=MAX_IMAGES))
    seed: int = field(default=0, metadata=check(integer=True, min=0, max=MAX_SEED))
    # where the dataset goes (default out/<the scene file's name>)
    output_dir: str = "out/${simgen_stem:${scene}}"
    workers: int = field(default=1, metadata=check(integer=True, min=1, max=MAX_WORKERS))
    # replace a finished simgen dataset in output_dir (only the files simgen made; built aside and swapped in
    # when complete, so a failed run leaves the old dataset as it was)
    overwrite: bool = False
    # write into a folder that holds other files (simgen never deletes or replaces them; a planned file that
    # already exists there stops the run)
    allow_existing_files: bool = False
    # Samples per shard: the unit of parallel work and of resume.
    shard_size: int = field(default=8, metadata=check(integer=True, min=1, max=10_000))
    assets: AssetsConfig = field(default_factory=AssetsConfig)
    render: RenderConfig = field(default_factory=RenderConfig)  # type: ignore[valid-type]
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
