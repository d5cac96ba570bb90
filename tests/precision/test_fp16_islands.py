"""The TensorRT fp16 graph: float16 ONNX with float32 islands, checked with real fp16 arithmetic (onnx.reference
computes a float16 graph in numpy float16)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from edgeattn.precision.fp16_islands import to_float16


def _sum_graph() -> onnx.ModelProto:
    """y = ReduceSum(x * 2) / 4096 over a 64x64 map: the sum (~1.2e5) overflows float16's 65504."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 64, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 1, 1])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    n = helper.make_tensor("n", TensorProto.FLOAT, [], [4096.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [helper.make_node("Mul", ["x", "two"], ["x2"], name="mul"),
             helper.make_node("ReduceSum", ["x2", "axes"], ["s"], name="sum", keepdims=1),
             helper.make_node("Div", ["s", "n"], ["y"], name="mean")]
    g = helper.make_graph(nodes, "g", [x], [y], [two, n, axes])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_islands_keep_an_overflowing_reduction_finite():
    model = _sum_graph()
    x = np.full((1, 1, 64, 64), 30.0, np.float32)
    islands = to_float16(model)
    assert islands.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT  # I/O stay float32
    assert {i.data_type for i in islands.graph.initializer if i.name == "two"} == {TensorProto.FLOAT16}
    got = ReferenceEvaluator(islands).run(None, {"x": x})[0]
    assert got.dtype == np.float32 and np.allclose(got, 60.0)
    # Without islands the same graph overflows in float16: the islands are what keeps it finite.
    plain = ReferenceEvaluator(to_float16(model, islands=())).run(None, {"x": x})[0]
    assert np.isinf(plain).all()


def test_lga_mobilenet_fp16_islands_in_numpy_float16():
    from edgeattn.data.inputs import make_inputs
    from edgeattn.export.config import ExportConfig
    from edgeattn.export.graph import export_graph
    from edgeattn.export.pipeline import _build_model
    from edgeattn.models import get_model_spec
    from edgeattn.verify.tolerances import TASK_THRESHOLDS, tolerance_for

    spec = get_model_spec("lga_mobilenet")
    model = _build_model(ExportConfig(model="lga_mobilenet")).eval()
    feeds = make_inputs(spec, 1, 32, 64)
    fp32 = export_graph(model, spec, feeds)
    half = to_float16(fp32)
    types = {n.op_type for n in half.graph.node}
    casts = [n for n in half.graph.node if n.op_type == "Cast"]
    assert "Cast" in types and len(casts) > 8  # islands around every Div, plus the I/O casts
    ref = ReferenceEvaluator(fp32).run(None, feeds)[0]
    got = ReferenceEvaluator(half).run(None, feeds)[0]
    assert np.isfinite(got).all()
    err = np.abs(got.astype(np.float64) - ref)
    tol = tolerance_for("fp16", "reference")
    assert err.max() <= tol.max_abs and err.mean() <= tol.mean_abs, (err.max(), err.mean())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    assert agree >= TASK_THRESHOLDS[("segmentation", "fp16")][1]
    assert err.max() > 0  # it really computed in float16
