"""One progress bar for a run: tqdm on a terminal, throughput/ETA log lines otherwise.

The rate and ETA are the steady state: they are measured from the first finished sample on, so the start-up
(loading meshes, compiling shaders, spawning workers) does not make the first lines pessimistic; until a second
sample is done the line says how long the start-up took instead.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional

log = logging.getLogger("simgen.progress")


class Progress:
    def __init__(self, total: int, desc: str = "render", unit: str = "img", log_every_s: float = 10.0) -> None:
        self.total, self.done = total, 0
        self.t0 = time.perf_counter()
        self._last = self.t0
        self._first: Optional[tuple[float, int]] = None  # (time, count) when the first sample(s) finished
        self.log_every_s = log_every_s
        self.desc = desc
        self._bar = None
        if sys.stderr.isatty() and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

    @property
    def steady_rate(self) -> Optional[float]:
        """Samples per second since the first one finished (None until a second one has)."""
        if self._first is None:
            return None
        t1, n1 = self._first
        dt = time.perf_counter() - t1
        return (self.done - n1) / dt if self.done > n1 and dt > 0 else None

    @property
    def startup_s(self) -> Optional[float]:
        return None if self._first is None else self._first[0] - self.t0

    def update(self, n: int = 1) -> None:
        now = time.perf_counter()
        self.done += n
        if self._first is None:
            self._first = (now, self.done)
        if self._bar is not None:
            self._bar.update(n)
            return
        if now - self._last >= self.log_every_s or self.done == self.total or self.done == self._first[1]:
            self._last = now
            rate = self.steady_rate
            pct = 100.0 * self.done / max(self.total, 1)
            if rate is None:
                log.info("%s: %d/%d (%.1f%%), first images after %.1f s of start-up", self.desc, self.done,
                         self.total, pct, self.startup_s)
            else:
                log.info("%s: %d/%d (%.1f%%) %.2f %s/s, ETA %.0f s", self.desc, self.done, self.total, pct, rate,
                         "img", (self.total - self.done) / rate if rate > 0 else float("inf"))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
