"""Peak resident memory of one step, from the kernel's high-water mark (Linux /proc).

What the number means: the increase of the process's peak resident set size (VmHWM) over its resident size
just before the step (VmRSS), after the high-water mark was reset (`echo 5 > /proc/self/clear_refs`) and
free heap memory was handed back to the kernel (`malloc_trim`). For a runtime the step is "load the model +
first inference", so it counts weights, the compiled graph, arenas and activations; for PyTorch eager it is
the first inference of an already built module (weights excluded; they are a few MB here). It is memory the
process touched, not what a runtime reserved but never used, and it is only as isolated as one process
allows (a runtime loaded earlier keeps its own memory, which is outside the delta).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from typing import TypeVar

__all__ = ["peak_rss_delta", "available"]

T = TypeVar("T")
_STATUS = "/proc/self/status"
_CLEAR = "/proc/self/clear_refs"


def _read_kib(field: str) -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim() -> None:
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def available() -> bool:
    try:
        with open(_CLEAR, "w") as f:
            f.write("5")
    except OSError:
        return False
    return _read_kib("VmHWM") is not None


def peak_rss_delta(step: Callable[[], T]) -> tuple[T, float | None]:
    """Run `step()` and return (its result, peak RSS increase in MiB) or (result, None) where unmeasurable."""
    _trim()
    ok = available()  # resets the high-water mark to the current RSS
    before = _read_kib("VmRSS")
    result = step()
    peak = _read_kib("VmHWM")
    if not ok or before is None or peak is None:
        return result, None
    return result, max(peak - before, 0) / 1024.0
