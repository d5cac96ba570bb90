"""TensorRT's Q/DQ rules (edgeattn/tensorrt/qdq.py) on graphs built to break each one, and on what a real
quantizer (ONNX Runtime's) writes with each target's scheme: the trt scheme passes them, the ORT scheme does not."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeattn.errors import ExportError
from edgeattn.export.audit import audit, audit_shipped
from edgeattn.tensorrt.qdq import QDQ_RULES

F, I8, U8, I32 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8, TensorProto.INT32


def _const(name, values, dtype):
    return numpy_helper.from_array(np.asarray(values, dtype), name)


def _qdq_model(scale=0.1, zero=0, zero_type=np.int8, axis=None, dq_input=None, scale_const=True):
    """x (1,4,8,8) -> Q -> DQ -> y, with the scale/zero point given; `dq_input` replaces the DQ's input by a
    constant of that array (a pre-quantized weight or bias)."""
    inits = [_const("zp", zero, zero_type)]
    inputs = [helper.make_tensor_value_info("x", F, [1, 4, 8, 8])]
    if scale_const:
        inits.append(_const("scale", scale, np.float32))
    else:
        inputs.append(helper.make_tensor_value_info("scale", F, []))
    kw = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("QuantizeLinear", ["x", "scale", "zp"], ["q"], name="q", **kw)]
    dq_src = "q"
    if dq_input is not None:
        inits.append(numpy_helper.from_array(dq_input, "w"))
        dq_src = "w"
    nodes.append(helper.make_node("DequantizeLinear", [dq_src, "scale", "zp"], ["y"], name="dq", **kw))
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", F, None)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _rules(model):
    return sorted({(f.rule, f.node) for f in audit(model, "trt").errors})


def test_a_symmetric_int8_pair_passes():
    assert _rules(_qdq_model()) == []
    assert _rules(_qdq_model(scale=[0.1, 0.2, 0.3, 0.4], zero=[0, 0, 0, 0], axis=1)) == []


@pytest.mark.parametrize("kw, expected", [
    ({"dq_input": np.zeros(4, np.int32), "zero": 0, "zero_type": np.int32}, [("qdq-type", "dq"), ("qdq-type", "q")]),
    ({"zero": 0, "zero_type": np.uint8}, [("qdq-type", "dq"), ("qdq-type", "q"), ("type", "q")]),  # + UINT8 value
    ({"zero": 3}, [("qdq-zero-point", "dq"), ("qdq-zero-point", "q")]),
    ({"scale_const": False}, [("qdq-scale-constant", "dq"), ("qdq-scale-constant", "q")]),
    ({"scale": 0.0}, [("qdq-scale-positive", "dq"), ("qdq-scale-positive", "q")]),
    ({"scale": -0.1}, [("qdq-scale-positive", "dq"), ("qdq-scale-positive", "q")]),
    ({"scale": float("nan")}, [("qdq-scale-positive", "dq"), ("qdq-scale-positive", "q")]),
    ({"scale": [[0.1, 0.1]], "zero": [[0, 0]]}, [("qdq-scale-shape", "dq"), ("qdq-scale-shape", "q")]),
    ({"scale": [0.1, 0.2, 0.3], "zero": [0, 0, 0], "axis": 1}, [("qdq-scale-shape", "dq"), ("qdq-scale-shape", "q")]),
])
def test_each_rule_is_an_error_naming_the_node(kw, expected):
    model = _qdq_model(**kw)
    assert _rules(model) == expected
    for f in audit(model, "trt").errors:
        assert f.rule == "type" or QDQ_RULES[f.rule] in f.message


def test_the_rules_apply_to_trt_only():
    assert [f for f in audit(_qdq_model(zero=0, zero_type=np.uint8), "ort").findings if f.rule.startswith("qdq")] \
        == []


@pytest.fixture(scope="module")
def fp32_graph():
    from edgeattn.data.inputs import make_inputs
    from edgeattn.export.config import ExportConfig
    from edgeattn.export.graph import export_graph
    from edgeattn.export.pipeline import _build_model
    from edgeattn.models import get_model_spec
    from edgeattn.precision.data import calibration_feeds

    spec = get_model_spec("lga_mobilenet")
    model = _build_model(ExportConfig(model="lga_mobilenet")).eval()
    feeds = make_inputs(spec, 1, 32, 64)
    return export_graph(model, spec, feeds), calibration_feeds("segmentation", ["image"], (32, 64), 2)


@pytest.mark.parametrize("target", ["trt", "ort"])
def test_a_real_quantizer_meets_the_rules_with_the_trt_scheme_only(target, fp32_graph, tmp_path):
    from edgeattn.precision.blocks import sensitive_nodes
    from edgeattn.precision.ort_int8 import Calibration, quantize_qdq

    fp32, calib = fp32_graph
    q = quantize_qdq(Calibration(fp32, calib, "minmax", tmp_path), target=target, keep_float=sensitive_nodes(fp32))
    path = tmp_path / "model.onnx"
    onnx.save(q, str(path))
    rules = {f.rule for f in audit(q, "trt").errors}
    if target == "trt":
        assert rules == set() and audit_shipped(path, "trt").file == "model.onnx"
        inits = {i.name: i for i in q.graph.initializer}
        biases = [n for n in q.graph.node if n.op_type == "Conv" and len(n.input) > 2]
        assert biases and all(inits[n.input[2]].data_type == F for n in biases)  # biases stay float
    else:  # asymmetric UINT8 activations and INT32 biases: what TensorRT does not take
        assert {"qdq-type", "qdq-zero-point"} <= rules
        with pytest.raises(ExportError, match=r"the model.onnx that would ship cannot run on trt \(\d+ errors\)"):
            audit_shipped(path, "trt")
