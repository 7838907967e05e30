"""Rendering. Import :mod:`simgen.render.pyrender.gl` (platform selection) before anything imports OpenGL."""
