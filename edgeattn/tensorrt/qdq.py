"""TensorRT's rules for QuantizeLinear / DequantizeLinear (explicit quantization), as audit rules on the shipped graph.

Sources (TensorRT 10.x, the versions the recipes target; checked 2026-12):
- onnx-tensorrt docs/operators.md (10.1-GA): DequantizeLinear takes INT8, FP8, INT4 (so not the INT32 a
  bias-quantizing tool writes); Q and DQ restrictions "zero point must be zero".
- TensorRT C++ API, IQuantizeLayer / IDequantizeLayer (10.3): symmetric quantization only (zero point all zeros,
  its type that of the quantized tensor); output range INT8 [-128, 127], FP8, INT4 (no UINT8); the scale is a
  scalar (per tensor), a 1-D tensor the size of the quantization axis (per channel) or, for block quantization,
  of the input's rank; "all scale coefficients must have strictly positive values".
- TensorRT operator reference (Quantize/Dequantize): the scale and zero point are build-time constants.
- TensorRT developer guide, "Explicit Quantization": weights may be float (quantized by TensorRT with the Q layer's
  scale) or pre-quantized INT8 behind a DequantizeLinear; biases stay float (TensorRT fuses them into the layer).

Where TensorRT 10.16 and 11.4 differ (`tables.py`, the 10.15 edition of operators.md): DequantizeLinear also takes
FP4 (FLOAT4E2M1, with INT8/INT4/FP8 a "Quantized Type" reachable only through Q/DQ), and block quantization (ONNX
`block_size`, opset >= 21, which 10.3's opset 20 cannot express) is accepted: the scale then has the input's rank,
each dimension the input's except along `axis`, where it is ceil(dim / block_size). TensorRT 11 builds strongly
typed networks only, so Q/DQ nodes are the only way to INT8/FP8/INT4/FP4 there (no calibrator, no INT8 flag); the
rules on the nodes themselves are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import onnx

__all__ = ["QDQ_RULES", "QDQ_TYPES", "qdq_issues"]

#: element types TensorRT 10.3 quantizes to / dequantizes from (later versions: `tables.TrtTable.qdq_types`)
QDQ_TYPES = ("INT8", "FP8", "INT4")

#: rule id -> what TensorRT requires (printed in each finding)
QDQ_RULES: dict[str, str] = {
    "qdq-type": "the quantized tensor is one of its quantized types (no INT32 biases, no UINT8 activations)",
    "qdq-zero-point": "symmetric quantization only: the zero point is all zeros",
    "qdq-scale-constant": "the scale (and zero point) are build-time constants",
    "qdq-scale-positive": "every scale coefficient is finite and strictly positive",
    "qdq-scale-shape": "the scale is a scalar (per tensor), 1-D with one value per channel of the axis or, from "
                       "10.16's table on, of the input's rank for block quantization",
}


def qdq_issues(g: Any, node: onnx.NodeProto, type_name: Callable[[int], str], issue: type,
               table: Any = None) -> Iterator[Any]:
    """Findings (errors) of one Q or DQ node; `g` is tensorrt.audit's graph view (constants, types, ranks),
    `table` the `tables.TrtTable` judged with (None: 10.3's)."""
    op = node.op_type
    types = table.qdq_types if table is not None else QDQ_TYPES
    block_ok = bool(table is not None and table.qdq_block)
    who = f"TensorRT {table.name}" if table is not None else "TensorRT"

    def err(rule: str, msg: str) -> Any:
        text = QDQ_RULES[rule] + (f": {', '.join(types)}" if rule == "qdq-type" else "")
        return issue("error", rule, op, node.name, f"{msg} ({who}: {text})")

    data = node.input[0] if node.input else ""
    scale = node.input[1] if len(node.input) > 1 else ""
    zero = node.input[2] if len(node.input) > 2 else ""
    quantized = data if op == "DequantizeLinear" else (zero or None)
    elem = g.elem_type(quantized) if quantized else None
    if op == "QuantizeLinear" and not zero:  # opset >= 21: the output type may be the output_dtype attribute
        elem = next((a.i for a in node.attribute if a.name == "output_dtype"), 0) or None
        quantized = node.output[0] if elem is not None and node.output else None
    if quantized and elem is not None and type_name(elem) not in types:
        what = "input" if op == "DequantizeLinear" else "zero point (the output type)"
        yield err("qdq-type", f"{what} {quantized} is {type_name(elem)}")
    for name, what in ((scale, "scale"), (zero, "zero point")):
        if name and not g.is_const(name):
            yield err("qdq-scale-constant", f"{what} {name} is computed at run time")
    zp = g.value(zero) if zero and g.is_const(zero) else None
    if zp is not None and np.any(zp != 0):
        yield err("qdq-zero-point", f"zero point {zero} is not all zeros")
    s = g.value(scale) if scale and g.is_const(scale) else None
    if s is None:
        return
    s = np.asarray(s, dtype=np.float64)
    if not (np.isfinite(s).all() and (s > 0).all()):
        yield err("qdq-scale-positive", f"scale {scale} holds zero, negative or non-finite values")
    block = next((a.i for a in node.attribute if a.name == "block_size"), 0)
    if s.ndim > 1 and block_ok and block > 0:
        yield from _block_shape(g, node, data, scale, s, block, err)
    elif s.ndim > 1:
        why = "" if block_ok else " (block quantization needs TensorRT >= 10.16's table and opset >= 21)"
        yield err("qdq-scale-shape", f"scale {scale} has rank {s.ndim}{why}")
    elif s.ndim == 1 and s.size > 1 and data:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        dims = _dims(g, data)
        if dims and -len(dims) <= axis < len(dims) and dims[axis] and dims[axis] != s.size:
            yield err("qdq-scale-shape", f"scale {scale} has {s.size} values for an axis of {dims[axis]}")


def _block_shape(g: Any, node: onnx.NodeProto, data: str, scale: str, s: np.ndarray, block: int,
                 err: Callable[[str, str], Any]) -> Iterator[Any]:
    """Block quantization: the scale has the input's rank and, along `axis`, one value per block."""
    dims = _dims(g, data) if data else []
    if not dims:
        return
    if s.ndim != len(dims):
        yield err("qdq-scale-shape", f"block scale {scale} has rank {s.ndim} for an input of rank {len(dims)}")
        return
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1) % len(dims)
    want = [(d + block - 1) // block if i == axis else d for i, d in enumerate(dims)]
    if any(d and w != got for d, w, got in zip(dims, want, s.shape)):
        yield err("qdq-scale-shape", f"block scale {scale} has shape {list(s.shape)}, the input {list(dims)} with "
                  f"block_size {block} on axis {axis} needs {want}")


def _dims(g: Any, name: str) -> list[int]:
    """Known dimensions of `name` (0 where unknown): a constant's own, else shape inference's."""
    if g.is_const(name) and g.const.get(name) is not None:
        return list(g.const[name].dims)
    t = g.types.get(name)
    if t is None or not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else 0 for d in t.shape.dim]
