"""The registry of randomization families: config key -> ``"module:FamilyClass"``.

Adding a family = its module here (config dataclass, stream id, hooks; see :mod:`simgen.randomize.family`) + one
line below + its presets ``conf/randomization/<name>/{off,moderate,strong}.yaml``; or, from another installed
package, an entry point in the group ``simgen.families``. Everything else (the ``randomization.*`` config schema,
validation, the gallery, the ablation sweep, the presets check and docs/families.md) is derived from this registry.
"""

from __future__ import annotations

from simgen.core.plugins import entry_point_specs, load_attr

FAMILY_CLASSES: dict[str, str] = {
    "lighting": "simgen.randomize.families.lighting:LightingFamily",
    "camera": "simgen.randomize.families.camera:CameraFamily",
    "pose": "simgen.randomize.families.pose:PoseFamily",
    "material": "simgen.randomize.families.material:MaterialFamily",
    "background": "simgen.randomize.families.background:BackgroundFamily",
    "distractors": "simgen.randomize.families.distractors:DistractorsFamily",
    "weather": "simgen.randomize.families.weather:WeatherFamily",
    "defects": "simgen.randomize.families.defects:DefectsFamily",
    "sensor": "simgen.randomize.families.sensor:SensorFamily",
}
for _name, _target in entry_point_specs("simgen.families"):
    FAMILY_CLASSES.setdefault(_name, _target)

_LOADED: dict[str, type] = {}


def family_classes() -> dict[str, type]:
    """name -> Family subclass, in registry order (stream ids and names are checked to be unique)."""
    if len(_LOADED) != len(FAMILY_CLASSES):
        seen: dict[int, str] = {}
        for name, target in FAMILY_CLASSES.items():
            cls = _LOADED.get(name) or load_attr(target)
            if cls.name != name:
                raise TypeError(f"family {target} registered as {name!r} but named {cls.name!r}")
            if cls.stream_id in seen and seen[cls.stream_id] != name:
                raise TypeError(f"families {seen[cls.stream_id]!r} and {name!r} share stream id {cls.stream_id}")
            seen[cls.stream_id] = name
            _LOADED[name] = cls
    return dict(_LOADED)
