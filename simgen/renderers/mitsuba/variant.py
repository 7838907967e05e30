"""Choosing a Mitsuba 3 variant that runs here.

``llvm_ad_rgb`` JIT-compiles the whole path tracer into one vectorised, multi-threaded kernel (LLVM); it needs a
libLLVM shared library at run time: Dr.Jit looks for ``/usr/lib/x86_64-linux-gnu/libLLVM*.so.*`` (or the path in
``DRJIT_LIBLLVM_PATH``). Dr.Jit 1.5 refuses LLVM 14 and *aborts the process* on LLVM 15 and 16 (``LLVM ERROR:
Cannot select ... fminimum`` on the first kernel; measured), so the version is checked before any kernel is built.
LLVM 19 works (Debian 12 package ``libllvm19``). Without a usable LLVM, ``scalar_rgb`` (no JIT, one ray at a
time on a thread pool) is used instead.
"""

from __future__ import annotations

import logging
from typing import Optional

from simgen.errors import ConfigError, RenderError

log = logging.getLogger(__name__)

MIN_LLVM = (19, 0, 0)  # lowest version seen to work with Dr.Jit 1.5 (15 and 16 abort; 17/18 not tried)
FAST = "llvm_ad_rgb"
FALLBACK = "scalar_rgb"
SUPPORTED = (FAST, FALLBACK)
LLVM_FIX = ("install a libLLVM >= 19 (Debian 12: apt-get install libllvm19) or point DRJIT_LIBLLVM_PATH at one")


def import_mitsuba():
    """``import mitsuba`` or a one-line RenderError naming the fix."""
    try:
        import mitsuba
    except ImportError:
        raise RenderError("render.backend=mitsuba needs the mitsuba package; pip install 'simgen[pathtrace]' "
                          "(mitsuba>=3.9,<4)") from None
    return mitsuba


def llvm_usable() -> tuple[bool, str]:
    """(True, version) when Dr.Jit's LLVM backend loads a libLLVM new enough to compile Mitsuba's kernels;
    else (False, why). Leaves the LLVM variant selected when usable (the caller selects its own afterwards)."""
    mi = import_mitsuba()
    if FAST not in mi.variants():
        return False, f"this mitsuba build has no {FAST} variant"
    try:
        mi.set_variant(FAST)
    except ImportError as exc:  # no libLLVM found, or one older than 15
        return False, str(exc).splitlines()[0][:160] if str(exc) else "no libLLVM found"
    import drjit as dr

    try:
        if not dr.has_backend(dr.JitBackend.LLVM):
            return False, "Dr.Jit's LLVM backend is inactive (no libLLVM found)"
        version = tuple(int(x) for x in dr.detail.llvm_version())
    except (AttributeError, RuntimeError) as exc:
        return False, f"cannot query the LLVM version ({type(exc).__name__})"
    if version < MIN_LLVM:
        return False, f"libLLVM {'.'.join(map(str, version))} is too old for Dr.Jit's kernels (needs >= 19)"
    return True, ".".join(map(str, version))


def select_variant(variant: Optional[str] = None) -> str:
    """Select and return the Mitsuba variant: ``variant`` if given (``llvm_ad_rgb`` or ``scalar_rgb``), else
    the fastest usable one (``llvm_ad_rgb``, falling back to ``scalar_rgb`` with a warning)."""
    mi = import_mitsuba()
    if variant is not None and variant not in SUPPORTED:
        raise ConfigError(f"render.mitsuba.variant={variant!r} is not supported; use one of {list(SUPPORTED)} "
                          f"or leave it unset (fastest available)")
    if variant in (None, FAST):
        ok, why = llvm_usable()
        if ok:
            log.debug("mitsuba: %s with libLLVM %s", FAST, why)
            mi.set_variant(FAST)
            return FAST
        if variant == FAST:
            raise RenderError(f"mitsuba variant {FAST} is unusable ({why}); {LLVM_FIX}, or use variant "
                              f"{FALLBACK}")
        log.warning("mitsuba: %s unusable (%s); falling back to %s (several times slower): %s", FAST, why,
                    FALLBACK, LLVM_FIX)
    mi.set_variant(FALLBACK)
    return FALLBACK
