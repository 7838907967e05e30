"""One progress bar for a run: tqdm on a terminal, throughput/ETA log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("simgen.progress")


class Progress:
    def __init__(self, total: int, desc: str = "render", unit: str = "img", log_every_s: float = 10.0) -> None:
        self.total, self.done = total, 0
        self.t0 = time.perf_counter()
        self._last = self.t0
        self.log_every_s = log_every_s
        self.desc = desc
        self._bar = None
        if sys.stderr.isatty() and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last >= self.log_every_s or self.done == self.total:
            self._last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("%s: %d/%d (%.1f%%) %.2f img/s, ETA %.0f s", self.desc, self.done, self.total,
                     100.0 * self.done / max(self.total, 1), rate, eta)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
