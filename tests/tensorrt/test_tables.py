"""The parser tables per TensorRT version (edgeattn/tensorrt/tables.py): what one version imports and another refuses
is judged differently, and a version without a table of its own says which table judged it."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeattn.export.audit import audit
from edgeattn.tensorrt.tables import OPS_SINCE, TRT_10_3, TRT_10_16, TRT_11_4, TRT_TABLES, table_version, trt_table

F, I64, FP4 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.FLOAT4E2M1
V103, V1016, V114 = (10, 3), (10, 16), (11, 4)


def _vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _one(op, inputs, outputs, opset=17, inits=(), domain="", **attrs):
    node = helper.make_node(op, [i.name for i in inputs] + [t.name for t in inits], ["y"], name="n", domain=domain,
                            **attrs)
    return _model([node], inputs, outputs, inits, opset)


def _findings(model, version, severity=None):
    return {(f.rule, f.op) for f in audit(model, "trt", version).findings if severity in (None, f.severity)}


def test_three_tables_are_selected_by_version():
    assert set(TRT_TABLES) == {V103, V1016, V114}
    assert (trt_table(V103), trt_table(V1016), trt_table(V114)) == (TRT_10_3, TRT_10_16, TRT_11_4)
    assert table_version((10, 13)) == V103 and table_version((10, 15)) == V103  # no edition of their own
    assert table_version((11, 5)) == V114 and table_version((8, 6)) == V103
    assert (TRT_10_3.opset_range, TRT_10_16.opset_range, TRT_11_4.opset_range) == ((9, 20), (9, 24), (9, 24))
    assert TRT_11_4.strongly_typed and not TRT_10_16.strongly_typed
    for t in TRT_TABLES.values():
        assert not (set(t.op_types) | set(t.untyped_ops)) & set(t.unsupported_ops)


def test_only_a_version_without_a_table_gets_the_table_note():
    m = _one("Relu", [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    for v in (V103, V1016, V114):
        assert ("table", "") not in _findings(m, v)
    note = [f.message for f in audit(m, "trt", (10, 13)).findings if f.rule == "table"]
    assert len(note) == 1 and "TensorRT 10.13 is transcribed" in note[0] and "TensorRT 10.3's" in note[0]


@pytest.mark.parametrize("domain", ["", "trt"])
def test_trt_attention_is_imported_from_11_0_only(domain):
    qkv = [_vi(n, [1, 2, 8, 16]) for n in "qkv"]
    m = _one("TRT_Attention", qkv, [_vi("y", [1, 2, 8, 16])], domain=domain)
    for v in (V103, V1016):
        msgs = [f.message for f in audit(m, "trt", v).errors if f.op == "TRT_Attention"]
        assert len(msgs) == 1 and "added in TensorRT 11.0" in msgs[0]
    assert audit(m, "trt", V114).findings == []  # no error, and no custom-domain warning either


def test_onnx_attention_needs_10_14():
    qkv = [_vi(n, [1, 2, 8, 16]) for n in "qkv"]
    m = _one("Attention", qkv, [_vi("y", [1, 2, 8, 16])], opset=23)
    assert {("unsupported", "Attention"), ("opset", "")} <= _findings(m, V103, "error")
    assert audit(m, "trt", V1016).errors == [] and audit(m, "trt", V114).errors == []
    assert OPS_SINCE["Attention"] == (10, 14)


def test_grid_sample_3d_from_11_4_table_only():
    grid5 = _one("GridSample", [_vi("x", [1, 2, 4, 8, 8]), _vi("grid", [1, 4, 8, 8, 3])], [_vi("y", None)], opset=20)
    for v in (V103, V1016):
        assert ("restricted", "GridSample") in _findings(grid5, v, "error")
    assert _findings(grid5, V114, "error") == set()
    grid4 = _one("GridSample", [_vi("x", [1, 2, 8, 8]), _vi("grid", [1, 8, 8, 2])], [_vi("y", None)], opset=20)
    assert all(_findings(grid4, v, "error") == set() for v in (V103, V1016, V114))


def test_dft_and_stft_follow_their_tensorrt():
    dft = _one("DFT", [_vi("x", [1, 16, 1])], [_vi("y", None)], opset=20)
    assert ("unsupported", "DFT") in _findings(dft, V103, "error")
    assert ("unsupported", "DFT") in _findings(dft, V1016, "error")  # 'N' in the 10.15 matrix
    assert ("unsupported", "DFT") not in _findings(dft, V114, "error")  # 11.2 added it
    stft = _one("STFT", [_vi("x", [1, 64, 1]), _vi("step", [], TensorProto.INT64)], [_vi("y", None)], opset=17)
    msgs = [f.message for f in audit(stft, "trt", V103).errors if f.op == "STFT"]
    assert msgs and "added in TensorRT 10.5" in msgs[0]
    assert ("unsupported", "STFT") not in _findings(stft, V1016, "error")
    assert ("unsupported", "STFT") not in _findings(stft, (10, 13), "error")  # judged for 10.13 with 10.3's table


def test_pow_int64_type_differs():
    m = _one("Pow", [_vi("x", [4], I64), _vi("e", [4], I64)], [_vi("y", [4], I64)])
    assert ("type", "Pow") in _findings(m, V103, "warning")  # 10.1 matrix: FP32, FP16, BF16
    assert ("type", "Pow") not in _findings(m, V1016)  # 10.15 matrix adds INT32, INT64


def test_slice_tensor_axes_warn_for_10_3_and_pass_from_the_10_16_table():
    starts, ends = (numpy_helper.from_array(np.asarray(v, np.int64), n) for v, n in (([1], "s"), ([3], "e")))
    nodes = [helper.make_node("Shape", ["x"], ["shp"]),
             helper.make_node("Slice", ["shp", "s", "e"], ["ax"]),
             helper.make_node("Slice", ["x", "s", "e", "ax"], ["y"], name="sl")]
    m = _model(nodes, [_vi("x", [1, 3, 8, 8])], [_vi("y", None)], [starts, ends])
    assert ("restricted", "Slice") in _findings(m, V103, "warning")
    assert ("restricted", "Slice") not in _findings(m, V1016)


def _fp4_dq(opset=23):
    w = helper.make_tensor("w", FP4, [4], [0.5, 1.0, 1.5, 2.0])
    s = numpy_helper.from_array(np.asarray(0.1, np.float32), "s")
    node = helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq")
    return _model([node], [], [_vi("y", [4])], [w, s], opset)


def test_fp4_dequantize_is_10_16_and_later():
    m = _fp4_dq()
    assert ("qdq-type", "DequantizeLinear") in _findings(m, V103, "error")
    for v in (V1016, V114):
        assert ("qdq-type", "DequantizeLinear") not in _findings(m, v)
    x = _model([helper.make_node("Identity", ["x"], ["y"])], [_vi("x", [4], FP4)], [_vi("y", [4], FP4)], opset=23)
    assert ("type", "tensor") in _findings(x, V103, "error")  # FP4 tensors: not a TensorRT 10.3 type
    assert ("type", "tensor") not in _findings(x, V1016)


def _block_dq(scale_shape, block=4):
    w = numpy_helper.from_array(np.ones((8, 16), np.int8), "w")
    s = numpy_helper.from_array(np.full(scale_shape, 0.1, np.float32), "s")
    node = helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq", axis=1, block_size=block)
    return _model([node], [], [_vi("y", [8, 16])], [w, s], opset=21)


def test_block_quantization_scale_is_checked_from_10_16():
    good, bad = _block_dq((8, 4)), _block_dq((8, 3))
    assert ("qdq-scale-shape", "DequantizeLinear") in _findings(good, V103, "error")  # rank-2 scale: 10.3 refuses
    for v in (V1016, V114):
        assert ("qdq-scale-shape", "DequantizeLinear") not in _findings(good, v)
        msgs = [f.message for f in audit(bad, "trt", v).errors if f.rule == "qdq-scale-shape"]
        assert len(msgs) == 1 and "needs [8, 4]" in msgs[0]


def test_opset_ranges_differ():
    m = _one("Relu", [_vi("x", [1, 4])], [_vi("y", [1, 4])], opset=24)
    assert ("opset", "") in _findings(m, V103, "error")
    assert ("opset", "") not in _findings(m, V1016) and ("opset", "") not in _findings(m, V114)
    m25 = _one("Relu", [_vi("x", [1, 4])], [_vi("y", [1, 4])], opset=25)
    assert ("opset", "") in _findings(m25, V114, "error")  # opset 25 came with 11.5


def test_source_names_the_table():
    m = _one("Relu", [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    assert "10.1-GA" in audit(m, "trt", V103).source
    assert "10.15 edition" in audit(m, "trt", V1016).source
    assert "11.0-11.4 release notes" in audit(m, "trt", V114).source
