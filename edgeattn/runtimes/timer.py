"""In-process timing with warm-up, a fixed iteration count or a time budget, and robust statistics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Timing", "measure"]


@dataclass(frozen=True)
class Timing:
    """Latency statistics in milliseconds over `iters` timed runs (after `warmup` untimed ones)."""

    median_ms: float
    p90_ms: float
    min_ms: float
    mean_ms: float
    iters: int
    warmup: int

    @property
    def fps(self) -> float:
        return 1000.0 / self.median_ms if self.median_ms > 0 else float("inf")

    def to_dict(self) -> dict:
        return {**asdict(self), "fps": self.fps}


def measure(fn: Callable[[], object], *, warmup: int = 2, iters: int = 20, budget_s: float | None = None,
            min_iters: int = 3) -> Timing:
    """Time `fn()`: `warmup` untimed calls, then up to `iters` timed calls, stopping early once `budget_s`
    seconds of timed calls have passed (but never before `min_iters`)."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < max(iters, 1):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if budget_s is not None and len(samples) >= min_iters and time.perf_counter() - start >= budget_s:
            break
    ms = np.asarray(samples) * 1e3
    return Timing(median_ms=float(np.median(ms)), p90_ms=float(np.percentile(ms, 90)), min_ms=float(ms.min()),
                  mean_ms=float(ms.mean()), iters=len(samples), warmup=warmup)
