"""Config schema of the randomization families (``conf/randomization/<family>/<preset>.yaml``).

Filled in by the domain-randomization work; the spine renders with no extra randomization.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RandomizationConfig:
    """Placeholder: no randomization family beyond the scene's own ranges."""
