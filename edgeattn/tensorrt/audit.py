"""TensorRT audit checks that need more than an op name: attributes, constant inputs, ranks and types.

The restrictions come from the parser table of the TensorRT judged for (`tables.trt_table`: 10.3, 10.16, 11.4;
onnx-tensorrt's support matrix). An op listed in
`CHECKED_OPS` is checked here condition by condition, so a Slice with initializer axes gives no finding and a
Slice with tensor axes gives one naming the node; restricted ops not listed here keep the generic warning in
`audit.py` (the condition cannot be decided from the graph, e.g. GRU activations per direction).

"Initializer" in the matrix means a value known when the engine is built: the parser turns both graph
initializers and `Constant` node outputs into weights, so both count as constant here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import onnx
from onnx import numpy_helper

from .operators import TRT_SINCE, TRT_TARGET_VERSION, TRT_TOPK_MAX_K
from .qdq import qdq_issues
from .tables import TrtTable, trt_table

__all__ = ["Issue", "CHECKED_OPS", "trt_issues", "onnx_type_name"]

_REDUCE = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
           "ReduceProd", "ReduceSum", "ReduceSumSquare")

CHECKED_OPS = frozenset({
    "Slice", "Pad", "Squeeze", "Unsqueeze", "CumSum", "TopK", "ScatterND", "GridSample", "Loop", "MaxPool",
    "AveragePool", "LpPool", "Resize", "Dropout", "LSTM", "LayerNormalization", "Constant", "QuantizeLinear",
    "DequantizeLinear", "OneHot", "EyeLike", *_REDUCE,
})

_RESIZE_COORD = ("half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners")
_RESIZE_NEAREST = ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")

# ONNX element type -> the name used in the support matrix; DOUBLE is imported by casting down to FP32.
_TYPE_NAMES = {
    onnx.TensorProto.FLOAT: "FP32", onnx.TensorProto.FLOAT16: "FP16", onnx.TensorProto.BFLOAT16: "BF16",
    onnx.TensorProto.DOUBLE: "DOUBLE", onnx.TensorProto.INT32: "INT32", onnx.TensorProto.INT64: "INT64",
    onnx.TensorProto.INT8: "INT8", onnx.TensorProto.UINT8: "UINT8", onnx.TensorProto.BOOL: "BOOL",
    onnx.TensorProto.FLOAT8E4M3FN: "FP8", onnx.TensorProto.INT4: "INT4", onnx.TensorProto.FLOAT4E2M1: "FP4",
}


class Issue(NamedTuple):
    severity: str  # error | warning
    rule: str
    op: str
    node: str
    message: str


def onnx_type_name(elem_type: int) -> str:
    """Support-matrix name of an ONNX element type, or the ONNX name when TensorRT has none for it."""
    return _TYPE_NAMES.get(elem_type) or onnx.TensorProto.DataType.Name(elem_type)


class _Graph:
    """Constant values, ranks and element types of the values of a model (after shape inference)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # best effort: custom-domain nodes stop inference, the checks then know less
            pass
        self.model = model
        self.const: dict[str, onnx.TensorProto | None] = {}
        self.types: dict[str, onnx.TypeProto.Tensor] = {}
        self.io = {v.name for v in [*model.graph.input, *model.graph.output]}
        self._scan(model.graph)

    def _scan(self, graph: onnx.GraphProto) -> None:
        for init in graph.initializer:
            self.const[init.name] = init
        for v in [*graph.input, *graph.output, *graph.value_info]:
            if v.type.HasField("tensor_type"):
                self.types[v.name] = v.type.tensor_type
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                value = next((a.t for a in node.attribute if a.name == "value"), None)
                for out in node.output:
                    self.const[out] = value  # None: a constant of another kind (value_ints, ...)
            for attr in node.attribute:
                for g in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)):
                    self._scan(g)

    def is_const(self, name: str) -> bool:
        return name in self.const

    def value(self, name: str) -> np.ndarray | None:
        tensor = self.const.get(name)
        return None if tensor is None else numpy_helper.to_array(tensor)

    def rank(self, name: str) -> int | None:
        t = self.types.get(name)
        return len(t.shape.dim) if t is not None and t.HasField("shape") else None

    def elem_type(self, name: str) -> int | None:
        if name in self.const and self.const[name] is not None:
            return self.const[name].data_type
        t = self.types.get(name)
        return t.elem_type if t is not None and t.elem_type else None


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _input(node: onnx.NodeProto, i: int) -> str:
    return node.input[i] if len(node.input) > i else ""


def _version_text(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _const_input(g: _Graph, node: onnx.NodeProto, i: int, what: str, restriction: str,
                 target: tuple[int, int]) -> Iterator[Issue]:
    """A restriction of the form '<input> must be an initializer' (a build-time constant); none where the table
    of the judged TensorRT no longer has it (Slice and Pad axes in 10.16's)."""
    name = _input(node, i)
    if not name or g.is_const(name) or what not in restriction:
        return
    since = TRT_SINCE.get((node.op_type, what))
    msg = f"input '{what}' ({name}) is computed at run time; TensorRT needs it constant ({restriction})"
    if since is not None and target >= since:
        yield Issue("warning", "restricted", node.op_type, node.name,
                    f"{msg}; accepted from TensorRT {_version_text(since)}, fails on older parsers")
    else:
        fix = f" (TensorRT >= {_version_text(since)} accepts it)" if since else ""
        yield Issue("error", "restricted", node.op_type, node.name,
                    f"{msg}{fix}; fold it to a constant (e.g. --simplify onnxsim) or avoid the dynamic value")


def _check_node(g: _Graph, node: onnx.NodeProto, target: tuple[int, int], table: TrtTable) -> Iterator[Issue]:
    op, name = node.op_type, node.name
    restriction = table.restrictions.get(op, "")

    def err(msg: str) -> Issue:
        return Issue("error", "restricted", op, name, f"{msg} (TensorRT: {restriction})")

    if op in ("Slice", "Pad"):
        yield from _const_input(g, node, 3, "axes", restriction, target)
    elif op in ("Squeeze", "Unsqueeze") or op in _REDUCE:
        yield from _const_input(g, node, 1, "axes", restriction, target)
    elif op == "CumSum":
        yield from _const_input(g, node, 1, "axis", restriction, target)
    elif op == "OneHot":
        yield from _const_input(g, node, 1, "depth", restriction, target)
    elif op == "TopK":
        if _attr(node, "sorted", 1) != 1:
            yield err("sorted=0")
        k = g.value(_input(node, 1)) if _input(node, 1) else None
        if k is None and len(node.input) > 1:
            yield Issue("warning", "restricted", op, name,
                        f"K is computed at run time, so K < {TRT_TOPK_MAX_K} cannot be checked before the build")
        elif k is not None and int(np.asarray(k).reshape(-1)[0]) >= TRT_TOPK_MAX_K:
            yield err(f"K={int(np.asarray(k).reshape(-1)[0])} (must be < {TRT_TOPK_MAX_K})")
    elif op == "ScatterND":
        if _attr(node, "reduction", "none") != "none":
            yield err(f"reduction={_attr(node, 'reduction')!r}")
    elif op == "GridSample":
        rank = g.rank(_input(node, 0))
        if rank is not None and rank not in table.gridsample_ranks:
            yield err(f"{rank}-D input")
    elif op == "Loop":
        yield from _check_loop(g, node, err)
    elif op in ("MaxPool", "AveragePool", "LpPool"):
        kernel = _attr(node, "kernel_shape", [])
        if op != "LpPool" and len(kernel) not in (2, 3):
            yield err(f"{len(kernel)}-D pooling")
        if any(d != 1 for d in _attr(node, "dilations", [])):
            yield err(f"dilations={list(_attr(node, 'dilations'))}")
        if op == "MaxPool" and len(node.output) > 1 and node.output[1]:
            yield err("the Indices output is used")
    elif op == "Resize":
        yield from _check_resize(node, err)
    elif op == "Dropout":
        training = _input(node, 2)
        if training and (not g.is_const(training) or bool(np.any(g.value(training)))):
            yield err("training_mode is not a constant False")
    elif op == "LSTM":
        for a in ("input_forget", "layout"):
            if _attr(node, a, 0) != 0:
                yield err(f"{a}={_attr(node, a)}")
    elif op == "LayerNormalization":
        if any(node.output[1:]):
            yield err("Mean/InvStdDev outputs are used")
    elif op == "Constant":
        bad = [a.name for a in node.attribute if a.name in ("sparse_value", "value_string", "value_strings")]
        if bad:
            yield err(f"attribute {bad[0]}")
    elif op in ("QuantizeLinear", "DequantizeLinear"):
        yield from qdq_issues(g, node, onnx_type_name, Issue, table)  # TensorRT's Q/DQ rules (qdq.py)
    elif op == "EyeLike":
        t = g.types.get(_input(node, 0))
        if t is not None and t.HasField("shape") and any(not d.HasField("dim_value") for d in t.shape.dim):
            yield err("input with dynamic dimensions")


def _check_resize(node: onnx.NodeProto, err) -> Iterator[Issue]:
    mode = _attr(node, "mode", "nearest")
    if mode not in ("nearest", "linear"):
        yield err(f"mode={mode!r}")
    coord = _attr(node, "coordinate_transformation_mode", "half_pixel")
    if coord not in _RESIZE_COORD:
        yield err(f"coordinate_transformation_mode={coord!r}")
    if mode == "nearest" and _attr(node, "nearest_mode", "round_prefer_floor") not in _RESIZE_NEAREST:
        yield err(f"nearest_mode={_attr(node, 'nearest_mode')!r}")
    if _attr(node, "keep_aspect_ratio_policy", "stretch") != "stretch":
        yield err(f"keep_aspect_ratio_policy={_attr(node, 'keep_aspect_ratio_policy')!r}")
    if _attr(node, "antialias", 0):
        yield err("antialias=1")


def _check_loop(g: _Graph, node: onnx.NodeProto, err) -> Iterator[Issue]:
    """Loop: 'Scan output length cannot be dynamic'. Outputs past the N loop-carried values are scan outputs;
    their length is static only when the trip count M is a constant and the body cannot stop early."""
    carried = max(len(node.input) - 2, 0)
    if len(node.output) <= carried:
        return  # no scan outputs
    trip = _input(node, 0)
    if not trip or not g.is_const(trip):
        yield err("scan outputs with a run-time trip count M")
        return
    body = _attr(node, "body")
    cond_in = body.input[1].name if body is not None and len(body.input) > 1 else ""
    cond_out = body.output[0].name if body is not None and body.output else ""
    passthrough = cond_out == cond_in or any(
        n.op_type == "Identity" and list(n.output) == [cond_out] and list(n.input) == [cond_in] for n in body.node
    )
    if not passthrough and not g.is_const(cond_out):
        yield err("scan outputs of a loop whose body can stop early (condition output is computed)")


def _check_types(g: _Graph, node: onnx.NodeProto, table: TrtTable) -> Iterator[Issue]:
    """The first (data) input's type against the op's 'Supported Types' column; a warning because the column
    is per op, not per input, so it is a strong hint rather than a proof."""
    allowed = table.op_types.get(node.op_type)
    first = _input(node, 0)
    elem = g.elem_type(first) if first else None
    if not allowed or elem is None:
        return
    name = onnx_type_name(elem)
    if name == "DOUBLE":
        name = "FP32"  # cast down on import
    if name not in allowed:
        yield Issue("warning", "type", node.op_type, node.name,
                    f"input {first} is {name}; TensorRT {table.name} lists {', '.join(allowed)} for {node.op_type}")


def _check_value_types(g: _Graph, table: TrtTable) -> Iterator[Issue]:
    seen: set[str] = set()
    for value, t in sorted(g.types.items()):
        if not t.elem_type or value in seen:
            continue
        seen.add(value)
        name = onnx_type_name(t.elem_type)
        if name not in table.tensor_types:
            yield Issue("error", "type", "tensor", value, f"{name} tensors are not supported by TensorRT {table.name}")
        elif name in table.io_only_types and value not in g.io:
            yield Issue("error", "type", "tensor", value, f"{name} is supported only for network inputs/outputs")
        elif name == "DOUBLE":
            yield Issue("warning", "type", "tensor", value, "DOUBLE is cast down to FLOAT (clamped to +-FLT_MAX)")


def trt_issues(model: onnx.ModelProto, nodes: list[onnx.NodeProto],
               target: tuple[int, int] = TRT_TARGET_VERSION) -> list[Issue]:
    """Every violation of a checkable TensorRT restriction in `nodes` (the model's nodes, subgraphs included),
    judged with the parser table of TensorRT `target` (`tables.trt_table`)."""
    table = trt_table(target)
    g = _Graph(model)
    issues: list[Issue] = list(_check_value_types(g, table))
    for node in nodes:
        if node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type in CHECKED_OPS:
            issues.extend(_check_node(g, node, target, table))
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):  # their types are Q/DQ rules (errors)
            issues.extend(_check_types(g, node, table))
    return issues
