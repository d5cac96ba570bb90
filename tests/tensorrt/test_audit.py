"""The TensorRT audit on small graphs built to violate each restriction of the parser's support matrix."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeattn.export.audit import audit
from edgeattn.export.support_tables import OPSET_RANGE, RESTRICTED, UNSUPPORTED
from edgeattn.tensorrt.audit import trt_issues
from edgeattn.tensorrt.operators import TRT_OP_TYPES, TRT_RESTRICTIONS, TRT_UNSUPPORTED_OPS

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def _vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def _i64(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _errors(model):
    return [(f.op, f.node) for f in audit(model, "trt").errors]


def _x(shape=(1, 3, 8, 8)):
    return [_vi("x", list(shape))]


def test_tables_come_from_the_10x_matrix():
    assert OPSET_RANGE["trt"] == (9, 20)
    # Ops that moved from 'N' to 'Y' between the 8.x and 10.x matrices must not be flagged any more.
    for op in ("NonZero", "Mod", "OneHot", "IsInf", "Hardmax", "RoiAlign", "Shrink"):
        assert op not in UNSUPPORTED["trt"] and op in TRT_OP_TYPES
    for op in ("STFT", "Unique", "DFT", "SequenceAt", "AffineGrid", "BitwiseAnd"):
        assert op in UNSUPPORTED["trt"]
    assert RESTRICTED["trt"] == TRT_RESTRICTIONS
    assert not set(TRT_OP_TYPES) & set(TRT_UNSUPPORTED_OPS)
    assert "4D" in TRT_RESTRICTIONS["GridSample"] and "3840" in TRT_RESTRICTIONS["TopK"]


def test_unsupported_op_is_flagged_with_node_name():
    m = _model([helper.make_node("Unique", ["x"], ["y"], name="my_unique")], [_vi("x", [4])], [_vi("y", [None])])
    assert ("Unique", "my_unique") in _errors(m)


@pytest.mark.parametrize("op", ["Slice", "Pad"])
def test_axes_as_initializer_pass_and_as_tensor_fail_with_version_note(op):
    data = ["x", "starts", "ends", "axes"] if op == "Slice" else ["x", "pads", "", "axes"]
    inits = [_i64("starts", [1]), _i64("ends", [3]), _i64("pads", [1, 1])]
    ok = _model([helper.make_node(op, data, ["y"], name="n")], _x(), [_vi("y", None)], [*inits, _i64("axes", [2])])
    assert audit(ok, "trt").findings == []
    # axes computed at run time: Shape -> Slice gives a dynamic tensor
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape", start=0, end=1),
             helper.make_node("Sub", ["s", "one"], ["axes"], name="sub"),
             helper.make_node(op, data, ["y"], name="n")]
    bad = _model(nodes, _x(), [_vi("y", None)], [*inits, _i64("one", [-1])])
    report = audit(bad, "trt")
    found = [f for f in report.findings if f.rule == "restricted" and f.node == "n"]
    assert len(found) == 1
    if op == "Slice":  # tensor axes for Slice: supported from TensorRT 10.3 (JetPack 6) on
        assert found[0].severity == "warning" and "10.3" in found[0].message
    else:  # Pad: from 10.4, so an error for the 10.3 of JetPack 6
        assert found[0].severity == "error" and "10.4" in found[0].message
        assert trt_issues(bad, list(bad.graph.node), target=(10, 4))[0].severity == "warning"


def test_constant_node_counts_as_initializer():
    axes = helper.make_node("Constant", [], ["axes"], name="c", value=_i64("v", [1]))
    node = helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="rs")
    assert _errors(_model([axes, node], _x(), [_vi("y", None)])) == []
    dyn = helper.make_node("Shape", ["x"], ["axes2"], name="sh", start=0, end=1)
    node2 = helper.make_node("ReduceSum", ["x", "axes2"], ["y"], name="rs")
    assert _errors(_model([dyn, node2], _x(), [_vi("y", None)])) == [("ReduceSum", "rs")]


@pytest.mark.parametrize("sorted_, k, bad", [(1, 5, False), (0, 5, True), (1, 3840, True), (1, 3839, False)])
def test_topk_sorted_and_k_limit(sorted_, k, bad):
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], name="topk", sorted=sorted_)
    m = _model([node], [_vi("x", [1, 5000])], [_vi("v", None), _vi("i", None, I64)], [_i64("k", [k])])
    assert _errors(m) == ([("TopK", "topk")] if bad else [])


def test_topk_runtime_k_is_a_warning():
    nodes = [helper.make_node("Shape", ["x"], ["k"], name="sh", start=1, end=2),
             helper.make_node("TopK", ["x", "k"], ["v", "i"], name="topk")]
    report = audit(_model(nodes, [_vi("x", [1, 5])], [_vi("v", None), _vi("i", None, I64)]), "trt")
    assert report.errors == [] and [f.node for f in report.warnings if f.rule == "restricted"] == ["topk"]


@pytest.mark.parametrize("reduction, bad", [(None, False), ("none", False), ("add", True)])
def test_scatternd_without_reduction(reduction, bad):
    kw = {"reduction": reduction} if reduction else {}
    node = helper.make_node("ScatterND", ["x", "idx", "upd"], ["y"], name="sc", **kw)
    inits = [_i64("idx", [[0]]), numpy_helper.from_array(np.zeros((1, 4), np.float32), "upd")]
    m = _model([node], [_vi("x", [2, 4])], [_vi("y", [2, 4])], inits, opset=18)
    assert _errors(m) == ([("ScatterND", "sc")] if bad else [])


@pytest.mark.parametrize("rank, bad", [(4, False), (5, True)])
def test_gridsample_4d_only(rank, bad):
    shape = [1, 2, 4, 4, 4][:rank]
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], name="gs")
    grid = _vi("grid", [1, 4, 4, 2] if rank == 4 else [1, 4, 4, 4, 3])
    m = _model([node], [_vi("x", shape), grid], [_vi("y", None)], opset=20)
    assert _errors(m) == ([("GridSample", "gs")] if bad else [])


def _loop(trip_const: bool, early_exit: bool):
    """Loop with one carried value and one scan output."""
    b_in = [_vi("i", [], I64), _vi("cond_in", [], TensorProto.BOOL), _vi("acc", [1])]
    body_nodes = [helper.make_node("Add", ["acc", "one_f"], ["acc_out"]),
                  helper.make_node("Identity", ["acc_out"], ["scan"])]
    if early_exit:
        body_nodes.append(helper.make_node("Less", ["acc_out", "lim"], ["cond_out"]))
    else:
        body_nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    consts = [numpy_helper.from_array(np.ones(1, np.float32), "one_f"),
              numpy_helper.from_array(np.full(1, 3, np.float32), "lim")]
    body = helper.make_graph(body_nodes, "body", b_in,
                             [_vi("cond_out", [], TensorProto.BOOL), _vi("acc_out", [1]), _vi("scan", [1])],
                             initializer=consts)
    nodes = []
    if not trip_const:
        nodes.append(helper.make_node("Shape", ["x"], ["M"], name="sh", start=0, end=1))
        nodes.append(helper.make_node("Squeeze", ["M", "zero"], ["trip"], name="sq"))
    inits = [numpy_helper.from_array(np.array(True), "cond"), _i64("zero", [0])]
    if trip_const:
        inits.append(_i64("trip", 4))
    nodes.append(helper.make_node("Loop", ["trip", "cond", "x"], ["final", "scans"], name="loop", body=body))
    return _model(nodes, [_vi("x", [1])], [_vi("final", [1]), _vi("scans", None)], inits)


@pytest.mark.parametrize("trip_const, early_exit, bad", [(True, False, False), (False, False, True),
                                                         (True, True, True)])
def test_loop_scan_outputs_must_have_static_length(trip_const, early_exit, bad):
    assert (("Loop", "loop") in _errors(_loop(trip_const, early_exit))) is bad


@pytest.mark.parametrize("kw, outputs, bad", [
    ({"kernel_shape": [2, 2]}, ["y"], False),
    ({"kernel_shape": [2, 2]}, ["y", "idx"], True),
    ({"kernel_shape": [2, 2], "dilations": [2, 2]}, ["y"], True),
    ({"kernel_shape": [2]}, ["y"], True),
])
def test_maxpool_restrictions(kw, outputs, bad):
    node = helper.make_node("MaxPool", ["x"], outputs, name="mp", **kw)
    shape = [1, 3, 8] if len(kw["kernel_shape"]) == 1 else [1, 3, 8, 8]
    outs = [_vi("y", None)] + ([_vi("idx", None, I64)] if len(outputs) > 1 else [])
    assert _errors(_model([node], [_vi("x", shape)], outs)) == ([("MaxPool", "mp")] if bad else [])


@pytest.mark.parametrize("kw, bad", [
    ({"mode": "linear"}, False),
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, False),
    ({"mode": "cubic"}, True),
    ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, True),
    ({"mode": "linear", "antialias": 1}, True),
    ({"mode": "linear", "keep_aspect_ratio_policy": "not_larger"}, True),
])
def test_resize_modes(kw, bad):
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="rs", **kw)
    m = _model([node], _x(), [_vi("y", None)], [scales], opset=19)
    assert _errors(m) == ([("Resize", "rs")] if bad else [])


def test_attribute_restrictions_of_lstm_dropout_layernorm_and_quantize():
    w = numpy_helper.from_array(np.zeros((1, 8, 3), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 8, 2), np.float32), "R")
    train = numpy_helper.from_array(np.array(True), "train")
    zp = numpy_helper.from_array(np.array(3, np.int8), "zp")
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "scale")
    nodes = [
        helper.make_node("LSTM", ["seq", "W", "R"], ["h"], name="lstm", hidden_size=2, input_forget=1),
        helper.make_node("Dropout", ["x", "", "train"], ["d"], name="drop"),
        helper.make_node("LayerNormalization", ["x", "scale"], ["ln", "mean"], name="ln", axis=-1),
        helper.make_node("QuantizeLinear", ["x", "scale", "zp"], ["q"], name="q"),
    ]
    outs = [_vi("h", None), _vi("d", None), _vi("ln", None), _vi("mean", None), _vi("q", None, TensorProto.INT8)]
    m = _model(nodes, [_vi("seq", [4, 1, 3]), *_x()], outs, [w, r, train, zp, scale])
    assert sorted(_errors(m)) == [("Dropout", "drop"), ("LSTM", "lstm"), ("LayerNormalization", "ln"),
                                  ("QuantizeLinear", "q")]


def test_unsupported_tensor_types_and_type_hints():
    m = _model([helper.make_node("Identity", ["x"], ["y"], name="id")], [_vi("x", [2], TensorProto.UINT16)],
               [_vi("y", [2], TensorProto.UINT16)])
    assert {f.node for f in audit(m, "trt").errors} == {"x", "y"}
    # UINT8 is allowed only at the network boundary
    m = _model([helper.make_node("Cast", ["x"], ["u"], name="c", to=TensorProto.UINT8),
                helper.make_node("Cast", ["u"], ["y"], name="c2", to=TensorProto.FLOAT)], _x(), [_vi("y", None)])
    assert [f.node for f in audit(m, "trt").errors] == ["u"]
    # MatMul is listed for FP32/FP16/BF16 only: an INT64 MatMul is flagged (warning: the column is per op)
    m = _model([helper.make_node("MatMul", ["a", "a"], ["y"], name="mm")], [_vi("a", [2, 2], I64)],
               [_vi("y", [2, 2], I64)])
    assert [(f.rule, f.node) for f in audit(m, "trt").warnings] == [("type", "mm")]


def test_lga_mobilenet_graph_is_clean_for_tensorrt():
    # The default export of the shipped model must audit clean, or the trt target would refuse it.
    import torch

    from edgeattn.export.onnx import export_onnx
    from edgeattn.export.simplify import simplify
    from edgeattn.models import create_model

    model = create_model("lga_mobilenet", path="export")
    proto = simplify(export_onnx(model, (torch.rand(1, 3, 64, 96),), input_names=["image"], output_name="logits",
                                 opset=17, dynamic=False, exporter="torchscript"), "onnxslim")
    report = audit(proto, "trt")
    assert report.errors == [], report.summary()
