"""Bounded resources: refuse a job whose memory would exceed the machine, up front, with the estimate.

The estimate is a LOWER BOUND of what export/parity hold at once for one input size: the inputs in fp32 and fp64
(the fp64 pass measures the fp32 floor), one 32-channel feature map at half resolution in fp64 (every model's
stem), and the model's attention maps in fp64, the softmax's input and output side by side, grown as the
attention module itself grows (`map_elements` in the nn registry: non-local is quadratic in the pixels of its
feature map, criss-cross grows with HW(H+W), LGA linearly). Everything else (the libraries, the runtimes' arenas,
which ONNX Runtime grows in doubling chunks, the verification's copies, other processes) needs room too, so a job
is refused when the estimate exceeds 1/HEADROOM of the available memory: the kernel's MemAvailable (Linux), else
physical memory. nonlocal_mobilenet at 1024x2048 holds two 32768^2 fp64 maps (16 GiB): refused on a 24 GiB host.
"""

from __future__ import annotations

import os

from .errors import ResourceError

__all__ = ["available_memory", "attention_bytes", "estimate_bytes", "check_memory", "human_bytes", "HEADROOM"]

_STEM_CHANNELS = 32
#: the estimate may use at most 1/HEADROOM of the available memory (see the module docstring)
HEADROOM = 2


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


def attention_bytes(attention: str, batch: int, height: int, width: int, stride: int = 8) -> int:
    """fp64 bytes of the attention's largest map and the softmax's output beside it, at the feature map the
    attention runs on (input size / stride); 0 for no attention or a module outside the registry."""
    if not attention:
        return 0
    from .errors import EdgeAttnError
    from .nn.registry import get_attention

    try:
        spec = get_attention(attention)
    except EdgeAttnError:
        return 0
    s = max(int(stride), 1)
    return 2 * 8 * int(spec.map_elements(int(batch), -(-int(height) // s), -(-int(width) // s)))


def estimate_bytes(batch: int, height: int, width: int, in_channels: int, attention: str = "",
                   stride: int = 8) -> int:
    """Lower bound of the memory one export/parity pass at (batch, H, W) needs (see the module docstring)."""
    pixels = int(batch) * int(height) * int(width)
    return (pixels * in_channels * (4 + 8) + pixels * _STEM_CHANNELS * 8 // 4
            + attention_bytes(attention, batch, height, width, stride))


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(what: str, batch: int, height: int, width: int, in_channels: int, hint: str,
                 attention: str = "", stride: int = 8) -> int:
    """Raise ResourceError when the lower-bound estimate exceeds 1/HEADROOM of the available memory; returns the
    estimate. `attention` (a name in the nn registry) and `stride` size the attention's maps."""
    need = estimate_bytes(batch, height, width, in_channels, attention, stride)
    have = available_memory()
    if have is not None and need * HEADROOM > have:
        maps = attention_bytes(attention, batch, height, width, stride)
        detail = (f"of which {human_bytes(maps)} are {attention} attention maps in fp64, which grow as "
                  f"{_growth(attention)}" if maps else "inputs in fp32+fp64 and the stem's feature map")
        raise ResourceError(f"{what} (batch {batch}, {height}x{width}) needs at least {human_bytes(need)} of memory "
                            f"({detail}; the real peak is higher), and at most 1/{HEADROOM} of the "
                            f"{human_bytes(have)} available may be taken; {hint}")
    return need


def _growth(attention: str) -> str:
    from .nn.registry import get_attention

    return get_attention(attention).complexity
