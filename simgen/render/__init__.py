"""Rendering. Import :mod:`simgen.render.gl` (platform selection) before anything imports OpenGL."""
