"""Per-family child generators derived from a sample's generator without consuming it.

The sample generator is ``Generator(PCG64(SeedSequence([seed, index])))``. A family's generator for one hook
(stage) is built from the same SeedSequence's entropy and spawn key extended by ``(DR_KEY, family id, stage)``.
Building it reads the seed sequence only: the sample's own stream (used by the scene sampler and physics) is not
advanced, so with every family off the spine's draws are unchanged, and turning one family on or off never
shifts the draws of another.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

# a tag no ordinary spawn() child of the sample's SeedSequence uses (those have spawn keys (0,), (1,), ...)
DR_KEY = 0x64_72_61_6E  # "dran"

STAGES = {"before_physics": 0, "after_physics": 1, "after_render": 2}


def family_rng(rng: np.random.Generator, stream_id: int, stage: str) -> np.random.Generator:
    """Child generator of the family with ``stream_id`` (its ``Family.stream_id``) at ``stage`` (a key of
    STAGES); never draws from ``rng``."""
    key = (DR_KEY, int(stream_id), STAGES[stage])
    ss = getattr(rng.bit_generator, "seed_seq", None)
    if isinstance(ss, np.random.SeedSequence):
        child = np.random.SeedSequence(entropy=ss.entropy, spawn_key=tuple(ss.spawn_key) + key,
                                       pool_size=ss.pool_size)
    else:  # a generator without a SeedSequence: derive from its current state (read, not advanced)
        blob = json.dumps(rng.bit_generator.state, sort_keys=True, default=str).encode()
        entropy = int.from_bytes(hashlib.sha256(blob).digest()[:16], "little")
        child = np.random.SeedSequence(entropy=entropy, spawn_key=key)
    return np.random.Generator(np.random.PCG64(child))


RENDER_KEY = 0x72_6E_64_72  # "rndr"


def render_seed(rng: np.random.Generator) -> int:
    """The seed of a stochastic renderer (path tracing) for the sample whose generator is ``rng``, derived from its
    SeedSequence like :func:`family_rng` (never draws from ``rng``): a 32-bit integer."""
    ss = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(ss, np.random.SeedSequence):
        return int(family_rng(rng, RENDER_KEY, "after_render").integers(1 << 32))
    child = np.random.SeedSequence(entropy=ss.entropy, spawn_key=tuple(ss.spawn_key) + (RENDER_KEY,),
                                   pool_size=ss.pool_size)
    return int(child.generate_state(1, np.uint32)[0])
