"""simgen: synthetic, labelled training images from simulated 3D scenes, and a sim-to-real scorecard.

The same jobs as the command line, with its defaults::

    import simgen
    result = simgen.render(scene="default", n_images=100, overrides=["randomization=strong"])
    report = simgen.score(result.output_dir, "../shared/real/ycbv_dev", preset="quick")
"""

from simgen.version import __version__

__all__ = ["__version__", "render", "score", "RenderResult", "load_scene", "render_dataset", "RenderAppConfig",
           "SimgenError"]

_LAZY = {  # importing simgen stays cheap and engine-free
    "render": "simgen.cli.api", "score": "simgen.cli.api", "RenderResult": "simgen.cli.api",
    "load_scene": "simgen.scene.spec", "render_dataset": "simgen.run.job", "RenderAppConfig": "simgen.config",
    "SimgenError": "simgen.errors",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
