import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeattn.export.audit import audit
from edgeattn.export.support_tables import HOSTILE_OPS


def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_clean_graph_has_no_findings():
    m = _model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", [1, 3, 4, 4])], [_vi("y", [1, 3, 4, 4])]
    )
    report = audit(m, "trt")
    assert report.op_counts == {"Relu": 1} and report.findings == []


@pytest.mark.parametrize("op", ["Gather", "GatherElements", "ScatterND", "Einsum", "NonZero", "RandomNormal"])
def test_hostile_ops_are_flagged_with_node_name(op):
    node = helper.make_node(op, ["x"], ["y"], name=f"my_{op}")
    m = _model([node], [_vi("x", [4])], [_vi("y", [4])])
    report = audit(m, "onnx")
    hostile = report.hostile()
    assert [f.node for f in hostile] == [f"my_{op}"]
    if op in HOSTILE_OPS:
        assert HOSTILE_OPS[op] in hostile[0].message


def test_gather_on_shape_vector_is_not_a_data_gather():
    idx = numpy_helper.from_array(np.array(2, np.int64), "idx")
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "idx"], ["h"])]
    m = _model(nodes, [_vi("x", [1, 3, 4, 4])], [_vi("h", [], TensorProto.INT64)], [idx])
    assert audit(m, "onnx").hostile() == []


def test_unsupported_op_is_an_error_for_trt_only():
    # Unique: 'N' in onnx-tensorrt's 10.x matrix (NonZero, used here before, is supported since TensorRT 8.5)
    node = helper.make_node("Unique", ["x"], ["y"], name="uq")
    m = _model([node], [_vi("x", [4])], [_vi("y", [None])])
    assert [f.rule for f in audit(m, "trt").errors] == ["unsupported"]
    assert audit(m, "ort").errors == []


def test_rank_above_four_and_inf_constants_are_flagged():
    inf = numpy_helper.from_array(np.array([0.0, -np.inf], np.float32), "mask")
    nodes = [helper.make_node("Add", ["x", "mask"], ["y"], name="add")]
    m = _model(nodes, [_vi("x", [1, 1, 1, 1, 2])], [_vi("y", [1, 1, 1, 1, 2])], [inf])
    rules = {f.rule for f in audit(m, "onnx").findings}
    assert {"rank", "inf-constant"} <= rules


def test_opset_outside_target_range_is_an_error():
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1])], [_vi("y", [1])], opset=21)
    assert [f.rule for f in audit(m, "trt").errors] == ["opset"]
    onnx.checker.check_model(m)
