"""Exceptions that end a run with a one-line message (problem + fix) instead of a traceback."""

from __future__ import annotations


class SimgenError(Exception):
    """Base class: the message names the problem and the fix in one line."""


class ConfigError(SimgenError):
    """Invalid configuration value or scene description."""


class AssetError(SimgenError):
    """Missing, unreadable or unusable mesh/texture."""


class OutputError(SimgenError):
    """Output directory problems: not writable, already holds a finished dataset, ..."""


class RenderError(SimgenError):
    """No working OpenGL platform, or a render failure."""


class ScoreError(SimgenError):
    """Bad input to scoring: invalid COCO, no common categories, no images, ..."""
