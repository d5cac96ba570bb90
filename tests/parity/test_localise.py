"""Failure localisation on deliberately broken exports: the first diverging module is named."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeattn.parity.localise import module_of
from edgeattn.parity.runner import ParityConfig, run


@pytest.mark.parametrize("name, expected", [
    ("/backbone/features/features.3/conv/conv.0/conv.0.0/Conv", "backbone.features.3.conv.0.0"),
    ("/attention/layers.0/edge_dw/Conv", "attention.layers.0.edge_dw"),
    ("/classifier/Conv", "classifier"),
    ("/Resize", ""),
])
def test_module_of(name, expected):
    assert module_of(name) == expected


def _scale_first_conv(scope: str):
    """A graph hook that multiplies the weights of the first Conv inside `scope` by 1.5 (a broken export)."""
    broken = []

    def hook(_model: str, proto: onnx.ModelProto) -> onnx.ModelProto:
        inits = {i.name: i for i in proto.graph.initializer}
        node = next(n for n in proto.graph.node if n.op_type == "Conv" and n.name.startswith(scope))
        w = numpy_helper.to_array(inits[node.input[1]]) * np.float32(1.5)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(w, node.input[1]))
        broken.append(module_of(node.name))
        return proto

    return hook, broken


@pytest.mark.parametrize("scope, runtimes", [
    ("/backbone/features/features.3/", ("ort", "openvino")),
    ("/attention/", ("ort",)),
])
def test_broken_export_is_localised(scope, runtimes):
    hook, broken = _scale_first_conv(scope)
    _, rows = run(ParityConfig(models=("lga_mobilenet",), runtimes=runtimes, sizes=((32, 64),), threads=2),
                  progress=lambda _m: None, graph_hook=hook)
    assert len(rows) == len(runtimes)
    for row in rows:
        assert row.comparison.status == "failed"
        loc = row.localisation
        assert loc is not None and loc["module"] == broken[0], loc["summary"]
        assert loc["error"] > loc["threshold"] and loc["last_agreeing"]
        assert broken[0] in row.comparison.reason
        # Everything before the break agreed to fp32 accuracy.
        assert all(t["error"] < 1e-4 for t in loc["trace"][:-1])


def test_passing_run_is_not_localised():
    _, rows = run(ParityConfig(models=("lga_mobilenet",), runtimes=("ort",), sizes=((32, 64),), threads=2),
                  progress=lambda _m: None)
    assert rows[0].comparison.status == "passed" and rows[0].localisation is None
