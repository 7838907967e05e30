"""simgen: synthetic, labelled training images from simulated 3D scenes, and a sim-to-real scorecard."""

from simgen.version import __version__

__all__ = ["__version__", "render_dataset", "load_scene", "RenderAppConfig"]


def __getattr__(name):  # lazy: importing simgen stays cheap and engine-free
    if name == "render_dataset":
        from simgen.run.job import render_dataset

        return render_dataset
    if name == "load_scene":
        from simgen.scene.spec import load_scene

        return load_scene
    if name == "RenderAppConfig":
        from simgen.config import RenderAppConfig

        return RenderAppConfig
    raise AttributeError(name)
