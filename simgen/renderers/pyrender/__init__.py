"""pyrender (OpenGL) backend: platform selection, patches, lean forward pass, renderer."""
