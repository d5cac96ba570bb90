"""Bounded resources: refuse a job whose memory would exceed the machine, up front, with the estimate.

The estimate is a LOWER BOUND of what export/parity hold at once for one input size: the inputs in fp32 and fp64
(the fp64 pass measures the fp32 floor), and one 32-channel feature map at half resolution in fp64 (every model's
stem). Real peaks are several times higher, so a refused job could never have run; an accepted one may still be
large. Available memory is the kernel's MemAvailable (Linux), else physical memory.
"""

from __future__ import annotations

import os

from .errors import ResourceError

__all__ = ["available_memory", "estimate_bytes", "check_memory", "human_bytes"]

_STEM_CHANNELS = 32


def available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_bytes(batch: int, height: int, width: int, in_channels: int) -> int:
    """Lower bound of the memory one export/parity pass at (batch, H, W) needs (see the module docstring)."""
    pixels = int(batch) * int(height) * int(width)
    return pixels * in_channels * (4 + 8) + pixels * _STEM_CHANNELS * 8 // 4


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(what: str, batch: int, height: int, width: int, in_channels: int, hint: str) -> int:
    """Raise ResourceError when the lower-bound estimate exceeds available memory; returns the estimate."""
    need = estimate_bytes(batch, height, width, in_channels)
    have = available_memory()
    if have is not None and need > have:
        raise ResourceError(f"{what} (batch {batch}, {height}x{width}) needs at least {human_bytes(need)} of memory "
                            f"(inputs in fp32+fp64 and the stem's feature map; the real peak is higher), but "
                            f"{human_bytes(have)} is available; {hint}")
    return need
