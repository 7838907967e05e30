"""Shared helpers for the Hydra apps: error reporting, logging set-up, config conversion."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any, Callable

from simgen.core.quiet import debug_enabled
from simgen.errors import SimgenError

log = logging.getLogger("simgen")


class Terminated(KeyboardInterrupt):
    """Raised in the main process on SIGTERM."""


def interrupt_in(exc: BaseException) -> type | None:
    """Terminated or KeyboardInterrupt when ``exc`` is one of them in disguise, else None. A Ctrl-C or SIGTERM that
    lands while ctypes converts a call's arguments (PyOpenGL's GL calls) comes back as ``ctypes.ArgumentError``
    ("argument 2: KeyboardInterrupt: ") with the interrupt lost; one raised while handling another is chained."""
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return Terminated if isinstance(e, Terminated) else KeyboardInterrupt
        if type(e).__name__ == "ArgumentError" and type(e).__module__ == "ctypes":
            msg = str(e)
            if "Terminated" in msg:
                return Terminated
            if "KeyboardInterrupt" in msg:
                return KeyboardInterrupt
        e = e.__cause__ or e.__context__
    return None




def report_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SimgenError (and a few OS errors) into a one-line message and exit code 2.

    Set ``SIMGEN_DEBUG=1`` to get the full traceback instead.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import signal

        def _on_term(signum, frame):  # SIGTERM: stop like Ctrl-C (finished shards are kept, run resumable)
            raise Terminated()

        try:
            signal.signal(signal.SIGTERM, _on_term)
        except ValueError:  # not the main thread
            pass
        try:
            return fn(*args, **kwargs)
        except SimgenError as exc:
            if debug_enabled():
                raise
            print(f"simgen: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except BaseException as exc:
            kind = interrupt_in(exc)
            if kind is None or debug_enabled():
                raise
            if kind is Terminated:
                print("simgen: terminated; finished shards are kept, run the same command again to resume",
                      file=sys.stderr)
                sys.exit(143)
            print("simgen: interrupted; finished shards are kept, run the same command again to resume",
                  file=sys.stderr)
            sys.exit(130)

    return wrapper


def folder_and_keys(argv: list[str], keys, what: str, usage: str, error=ValueError):
    """``<folder> key=value ...`` (the plain commands: new-scene, view) -> (folder, {key: value}); ``error`` with
    a one-line message for an unknown key, an option, a second folder or none."""
    from pathlib import Path

    folder = None
    kv: dict[str, str] = {}
    for a in argv:
        if "=" in a and not a.startswith("="):
            k, v = a.split("=", 1)
            if k not in keys:
                raise error(f"unknown key {k!r}; use one of: {', '.join(sorted(keys))}")
            kv[k] = v
        elif a.startswith("-"):
            raise error(f"unknown option {a!r}; options are key=value ({', '.join(sorted(keys))})")
        elif folder is None:
            folder = Path(a)
        else:
            raise error(f"one {what} expected, got {str(folder)!r} and {a!r}")
    if folder is None:
        raise error(f"no {what} given; usage: {usage}")
    return folder, kv

