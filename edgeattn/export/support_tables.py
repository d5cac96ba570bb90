"""Operator support tables per target, kept as data with their sources.

`UNSUPPORTED[target]` maps an op_type to why the target cannot run it; `RESTRICTED[target]` maps an op_type
to the condition under which it runs. `OPSET_RANGE[target]` is the range of default-domain opsets the
target's ONNX importer accepts. The audit (`audit.py`) reads these; nothing else hard-codes op names.
"""

from __future__ import annotations

from ..tensorrt.operators import TRT_OPSET_RANGE, TRT_RESTRICTIONS, TRT_SOURCE, TRT_UNSUPPORTED_OPS

__all__ = ["SOURCES", "UNSUPPORTED", "RESTRICTED", "OPSET_RANGE", "HOSTILE_PREFIXES", "HOSTILE_OPS"]

SOURCES = {
    "trt": TRT_SOURCE,
    "openvino": "checked by converting with the installed OpenVINO ONNX frontend (ops it cannot convert stay "
    "as framework nodes)",
    "ort": "ONNX Runtime CPU execution provider implements every default-domain op of the opsets it accepts",
    "onnx": "plain ONNX: any default-domain op of the chosen opset",
}

# TensorRT: transcribed from onnx-tensorrt's TensorRT 10.x support matrix (tensorrt/operators.py, with its source).
_TRT_UNSUPPORTED_OPS = list(TRT_UNSUPPORTED_OPS)

UNSUPPORTED: dict[str, dict[str, str]] = {
    "trt": {op: "not supported by the TensorRT ONNX parser" for op in _TRT_UNSUPPORTED_OPS},
    "openvino": {},
    "ort": {},
    "onnx": {},
}

RESTRICTED: dict[str, dict[str, str]] = {
    "trt": dict(TRT_RESTRICTIONS),
    "openvino": {},
    "ort": {},
    "onnx": {},
}

OPSET_RANGE: dict[str, tuple[int, int]] = {
    "trt": TRT_OPSET_RANGE,  # TensorRT 10.x (10.3 on JetPack 6): opset 9..20
    "openvino": (7, 22),
    "ort": (7, 22),
    "onnx": (7, 23),
}

# Export-hostile ops: they run, but they are slow, data-dependent, or unportable on edge runtimes.
HOSTILE_PREFIXES = ("Gather", "Scatter", "Random")
HOSTILE_OPS = {
    "NonZero": "data-dependent output shape",
    "Loop": "control flow; breaks fusion and static-shape engines",
    "If": "control flow; breaks fusion and static-shape engines",
    "Einsum": "runs slowly on ONNX Runtime and is restricted on TensorRT; use MatMul",
}
