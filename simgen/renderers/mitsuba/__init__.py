"""Path-traced colour backend (Mitsuba 3, CPU). Optional: needs ``pip install 'simgen[pathtrace]'``.

``MitsubaColourRenderer`` produces colour only; labels come from the raster id pass of the same poses.
Importing this package does not import mitsuba (that happens when a renderer is created).
"""

from simgen.renderers.mitsuba.renderer import MitsubaColourRenderer, PathTraceSettings

__all__ = ["MitsubaColourRenderer", "PathTraceSettings"]
