"""Device profiles (data with sources) and what a profile asks of an export. Device side: standard library only.

`get_profile(name)` returns one of `PROFILES` (edgeattn/devices/profiles.py); `format_table()` is what
`python -m edgeattn.export --list-devices` prints.
"""

from __future__ import annotations

from ..errors import unknown
from .profiles import PROFILES, SOURCES, DeviceProfile, Emulation

__all__ = ["DeviceProfile", "Emulation", "PROFILES", "SOURCES", "get_profile", "profile_names", "format_table"]


def profile_names() -> list[str]:
    return list(PROFILES)


def get_profile(name: str) -> DeviceProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise unknown("device profile", name, PROFILES) from None


def format_table() -> str:
    """One line per profile (what it runs, the ONNX limits), then the sources each figure cites."""
    head = ("device", "arch", "OS", "Python", "numpy", "ONNX Runtime", "OpenVINO", "TensorRT", "CUDA", "max IR/opset")
    rows = [head]
    for p in PROFILES.values():
        trt = p.tensorrt or "-"
        if p.tensorrt_next:
            trt += f" ({p.tensorrt_next} from JetPack 7.2.2)"
        rows.append((p.name, p.arch, p.os, p.python, p.numpy, p.onnxruntime, p.openvino or "-", trt, p.cuda or "-",
                     f"{p.max_ir_version}/{p.max_opset}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("")
    for p in PROFILES.values():
        lines.append(f"{p.name}: {p.title}")
        keys = sorted(set(p.sources.values()))
        for k in keys:
            figs = ", ".join(f for f, s in p.sources.items() if s == k)
            lines.append(f"  {figs}: {SOURCES[k]}")
        if p.emulation is not None:
            e = p.emulation
            lines.append(f"  emulated (python -m edgeattn.emulate): Debian {e.suite} arm64, Python {e.python}, numpy "
                         f"{e.numpy}, onnxruntime {e.onnxruntime}" + (f", openvino {e.openvino}" if e.openvino else ""))
            for note in e.notes:
                lines.append(f"    differs from the device: {note}")
    return "\n".join(lines)
