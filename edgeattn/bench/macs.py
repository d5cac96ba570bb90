"""Multiply-accumulates counted from a static ONNX graph (after shape inference).

Counted: Conv and ConvTranspose (per output element: C_in/groups x kernel taps), MatMul (batch x M x K x N),
Gemm (M x K x N). Everything else (elementwise, Softmax, Resize, pooling) is left out and listed, so the
figure is the dense-algebra work that a compute ceiling can be compared with; effective GFLOP/s = 2 x MACs
/ latency.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnx

__all__ = ["MacCount", "count_macs"]

COUNTED = ("Conv", "ConvTranspose", "MatMul", "Gemm")


@dataclass
class MacCount:
    total: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    uncounted_ops: dict[str, int] = field(default_factory=dict)  # op type -> node count
    unknown_shapes: int = 0  # counted-op nodes whose shapes inference could not resolve

    def to_dict(self) -> dict:
        return {"total": self.total, "by_op": self.by_op, "uncounted_ops": self.uncounted_ops,
                "unknown_shapes": self.unknown_shapes}


def _shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    out: dict[str, list[int]] = {}
    for v in [*g.input, *g.value_info, *g.output]:
        dims = v.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            out[v.name] = [d.dim_value for d in dims]
    for init in g.initializer:
        out[init.name] = list(init.dims)
    return out


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def count_macs(model: onnx.ModelProto) -> MacCount:
    shapes = _shapes(model)
    result = MacCount()
    by_op: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for node in model.graph.node:
        if node.op_type not in COUNTED:
            other[node.op_type] += 1
            continue
        try:
            macs = _node_macs(node, shapes)
        except KeyError:
            result.unknown_shapes += 1
            continue
        by_op[node.op_type] += macs
    result.by_op = dict(by_op)
    result.total = int(sum(by_op.values()))
    result.uncounted_ops = dict(other)
    return result


def _node_macs(node: onnx.NodeProto, shapes: dict[str, list[int]]) -> int:
    if node.op_type == "Conv":
        w = shapes[node.input[1]]  # (C_out, C_in/g, kh, kw)
        y = shapes[node.output[0]]  # (N, C_out, H_out, W_out)
        return int(np.prod(y, dtype=np.int64) * np.prod(w[1:], dtype=np.int64))
    if node.op_type == "ConvTranspose":
        x = shapes[node.input[0]]  # (N, C_in, H, W)
        w = shapes[node.input[1]]  # (C_in, C_out/g, kh, kw)
        return int(np.prod(x, dtype=np.int64) * np.prod(w[1:], dtype=np.int64))
    if node.op_type == "MatMul":
        a = shapes[node.input[0]]  # (..., M, K)
        y = shapes[node.output[0]]  # (..., M, N)
        return int(np.prod(y, dtype=np.int64) * a[-1])
    # Gemm: A (M, K) or transposed, Y (M, N)
    a = shapes[node.input[0]]
    y = shapes[node.output[0]]
    k = a[0] if _attr(node, "transA", 0) else a[1]
    return int(np.prod(y, dtype=np.int64) * k)
