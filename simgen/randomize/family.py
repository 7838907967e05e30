"""The randomization family interface: one module per family owns its config, its stream id and its hooks.

A family is a subclass of :class:`Family` with

- ``name``: its config key (``randomization.<name>``, presets ``conf/randomization/<name>/{off,moderate,strong}``);
- ``stream_id``: the id of its random streams (never change it: the dataset's bytes depend on it);
- ``order``: where its hooks run relative to other families' (smaller first, in every stage);
- ``Config``: its config dataclass, with ``enabled`` and the rules of every field in its metadata
  (:mod:`simgen.core.checks`, :mod:`simgen.core.dist`);

and any of these methods (each optional; one signature per kind):

=================  ===========================================================================================
``setup``          once per worker: add meshes/textures to the catalog (banks made once, uploaded once)
``pool_sizes``     once per worker: how many renderer instances of each mesh a sample may need
``categories``     COCO categories it adds (e.g. defects)
``before_physics`` per sample, ``(ctx)``: change what is dropped (objects, distractors)
``after_physics``  per sample, ``(ctx)``: change how it looks (materials, camera, lights, background)
``after_render``   per sample, ``(ctx)``: image-space effects on ``ctx.rgb`` (labels never move)
=================  ===========================================================================================

Each hook gets a :class:`SampleContext` whose ``rng`` is this family's own generator for this stage, derived from
the sample's seed sequence without drawing from the sample's generator (:func:`simgen.core.rngs.family_rng`):
turning one family on or off never shifts another's draws, and with every family off the images are the
scene file's own, byte for byte. A family is registered with one line in
:data:`simgen.randomize.families.FAMILY_CLASSES`, or by another installed package through an entry point in the
group ``simgen.families`` (``<name> = "pkg.module:FamilyClass"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from simgen.core.frame import Frame
from simgen.core.rngs import family_rng
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Scene
from simgen.scene.spec import SceneSpec

STAGES = ("before_physics", "after_physics", "after_render")


@dataclass
class SampleContext:
    """What a hook sees and changes. Hooks replace ``scene`` (before/after physics) or ``rgb`` and append to
    ``extra`` (after render); ``rng`` is the calling family's generator for the stage."""

    index: int
    spec: SceneSpec
    catalog: AssetCatalog
    scene: Scene
    sample_rng: np.random.Generator  # the sample's own generator: derive from it, never draw from it
    rng: Optional[np.random.Generator] = None
    frame: Optional[Frame] = None  # after_render: the rendered frame (rgb, depth, instance ids)
    rgb: Optional[np.ndarray] = None  # after_render: (H, W, 3) uint8 image being edited
    instances: list = field(default_factory=list)  # after_render: labelled instances (read-only)
    extra: list = field(default_factory=list)  # after_render: extra labelled instances [(Instance, category)]


class Family:
    """Base class of a randomization family (see the module docstring). Instances live in one worker."""

    name: ClassVar[str]
    stream_id: ClassVar[int]
    order: ClassVar[int]
    Config: ClassVar[type]

    def __init__(self, cfg: Any, spec: SceneSpec) -> None:
        self.cfg = cfg
        self.spec = spec

    @classmethod
    def check_scene(cls, cfg: Any, spec: SceneSpec) -> None:
        """Checks of this family's config against a scene (ConfigError), before anything is written."""

    # once per worker
    def setup(self, catalog: AssetCatalog, assets_root: Path) -> None:
        pass

    def pool_sizes(self, catalog: AssetCatalog, pools: dict[str, int]) -> None:
        """Raise or add entries of ``pools`` (renderer instances per mesh key), in place."""

    def categories(self) -> list[str]:
        return []

    # per sample (hooks a family does not override are skipped)
    def before_physics(self, ctx: SampleContext) -> None:
        pass

    def after_physics(self, ctx: SampleContext) -> None:
        pass

    def after_render(self, ctx: SampleContext) -> None:
        pass

    @classmethod
    def hooks(cls) -> list[str]:
        """The per-sample stages this family acts in."""
        return [s for s in STAGES if getattr(cls, s) is not getattr(Family, s)]

    def run(self, stage: str, ctx: SampleContext) -> None:
        ctx.rng = family_rng(ctx.sample_rng, self.stream_id, stage)
        getattr(self, stage)(ctx)
