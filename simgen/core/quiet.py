"""Third-party start-up noise kept out of the user's terminal (``SIMGEN_DEBUG=1`` shows it)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys


def debug_enabled() -> bool:
    return os.environ.get("SIMGEN_DEBUG", "") not in {"", "0", "false", "False"}


@contextlib.contextmanager
def native_output_silenced():
    """Send what native code prints (e.g. pybullet's ``pybullet build time: ...`` on stderr at import) to
    /dev/null for the duration; Python's own streams are flushed first and restored after (exceptions still
    propagate as usual)."""
    if debug_enabled():
        yield
        return
    fds = []
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            fds.append(stream.fileno())
        except (AttributeError, OSError, ValueError):  # no real file behind it (captured): nothing to silence
            pass
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as null:
            for fd in fds:
                os.dup2(null.fileno(), fd)
        yield
    finally:
        for fd, s in zip(fds, saved):
            os.dup2(s, fd)
            os.close(s)


def quiet_loggers(*names: str) -> None:
    """Third-party loggers that talk at INFO about nothing the user can act on (e.g. ``OpenGL``): WARNING."""
    if not debug_enabled():
        for n in names:
            logging.getLogger(n).setLevel(logging.WARNING)
