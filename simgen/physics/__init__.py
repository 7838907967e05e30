"""Physics behind one interface (:class:`Simulator`), selected by ``physics.backend=`` (default ``pybullet``).

A simulator is created once per worker and settles one scene per sample: objects dropped at their sampled poses
come to rest on the support surface and on each other. Its parameters (step budget, friction, ...) are the scene
file's ``physics:`` section. Nothing outside ``simgen/physics/`` imports pybullet. Adding a simulator = one module
+ one line in :data:`SIMULATORS` (or an entry point in the ``simgen.simulators`` group).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from simgen.core.plugins import entry_point_specs, load_attr
from simgen.errors import ConfigError
from simgen.scene.catalog import AssetCatalog
from simgen.scene.model import Scene
from simgen.scene.spec import SceneSpec

SIMULATORS: dict[str, str] = {"pybullet": "simgen.physics.pybullet:PhysicsWorld"}
for _name, _target in entry_point_specs("simgen.simulators"):
    SIMULATORS.setdefault(_name, _target)


@runtime_checkable
class Simulator(Protocol):
    """``with Simulator.from_config(physics_cfg) as sim: scene = sim.settle(scene, catalog, spec)``."""

    def settle(self, scene: Scene, catalog: AssetCatalog, spec: SceneSpec) -> Scene:
        """The scene with every object's ``T_world_obj`` at rest; deterministic for the same inputs."""

    def close(self) -> None:
        """Free the engine's resources (also on ``__exit__``)."""


def simulator_class(name: str) -> type:

    if name not in SIMULATORS:
        raise ConfigError(f"unknown physics.backend {name!r}; use one of {', '.join(SIMULATORS)}")
    return load_attr(SIMULATORS[name])
