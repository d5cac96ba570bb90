"""The Q/DQ graphs per target: U8S8 for ORT, symmetric S8S8 (zero point 0) for TensorRT, both run on ORT."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def graph_and_feeds():
    from edgeattn.data.inputs import make_inputs
    from edgeattn.export.config import ExportConfig
    from edgeattn.export.graph import export_graph
    from edgeattn.export.pipeline import _build_model
    from edgeattn.models import get_model_spec
    from edgeattn.precision.data import calibration_feeds

    spec = get_model_spec("lga_mobilenet")
    model = _build_model(ExportConfig(model="lga_mobilenet")).eval()
    feeds = make_inputs(spec, 1, 32, 64)
    return export_graph(model, spec, feeds), feeds, calibration_feeds("segmentation", ["image"], (32, 64), 2)


@pytest.mark.parametrize("target,act_type", [("ort", TensorProto.UINT8), ("trt", TensorProto.INT8)])
def test_scheme_per_target(graph_and_feeds, tmp_path, target, act_type):
    from edgeattn.precision.blocks import sensitive_nodes
    from edgeattn.precision.evaluate import ort_runner
    from edgeattn.precision.ort_int8 import Calibration, quantize_qdq

    fp32, feeds, calib = graph_and_feeds
    keep = sensitive_nodes(fp32)
    q = quantize_qdq(Calibration(fp32, calib, "minmax", tmp_path), target=target, keep_float=keep)
    inits = {i.name: i for i in q.graph.initializer}
    quant = [n for n in q.graph.node if n.op_type == "QuantizeLinear"]
    assert quant
    for n in quant:  # activations: the target's type; TensorRT: zero point 0 (symmetric)
        zp = inits[n.input[2]]
        assert zp.data_type == act_type
        if target == "trt":
            assert not numpy_helper.to_array(zp).any()
    per_channel = [n for n in q.graph.node if n.op_type == "DequantizeLinear" and n.input[1] in inits
                   and numpy_helper.to_array(inits[n.input[1]]).size > 1]
    assert per_channel  # per-channel weight scales
    # The kept ops stay float: nothing dequantizes straight into them from an int8 weight, and they run.
    kept = {n.name for n in q.graph.node} & set(keep)
    assert kept == set(keep)
    out = ort_runner(q, 1)(feeds)
    ref = ort_runner(fp32, 1)(feeds)
    assert np.isfinite(out).all() and out.shape == ref.shape and np.abs(out - ref).max() > 0
