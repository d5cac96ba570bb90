"""edgeattn::EdgeAttnCrissCross: PyTorch vs ReferenceEvaluator vs ONNX Runtime vs OpenVINO, custom vs standard."""

import numpy as np
import pytest
import torch

from edgeattn.nn import CrissCrossAttention
from edgeattn.ops import enable_custom_ops
from edgeattn.ops.criss_cross import OP_TYPE, CrissCrossOpAttention, criss_cross_np, criss_cross_torch
from edgeattn.parity import tolerance_for

from ._graphs import RUNTIMES, attrs, custom_nodes, export_to, run


def _block(channels=32):
    m = CrissCrossAttention(channels, recurrence=2).eval()
    with torch.no_grad():
        m.gamma.fill_(0.8)  # CCNet starts gamma at 0, which would hide the attention entirely
    return m


def test_numpy_reference_matches_torch_and_the_layer():
    q, k, v = torch.randn(2, 4, 7, 9), torch.randn(2, 4, 7, 9), torch.randn(2, 32, 7, 9)
    assert np.abs(criss_cross_torch(q, k, v).numpy() - criss_cross_np(q.numpy(), k.numpy(), v.numpy())).max() < 1e-5
    m = _block()
    x = torch.randn(2, 32, 7, 9)
    wrapped = torch.nn.Sequential(m)
    with torch.no_grad():
        want = m(x)
        assert enable_custom_ops(wrapped) == 1 and isinstance(wrapped[0], CrissCrossOpAttention)
        assert (wrapped(x) - want).abs().max() < 1e-5
    assert wrapped.state_dict().keys() == torch.nn.Sequential(m).state_dict().keys()


@pytest.mark.parametrize("size", [(9, 11), (16, 6)])
def test_custom_graph_matches_pytorch_on_every_runtime_and_the_standard_graph(tmp_path, size):
    m = _block()
    inputs = {"x": torch.randn(1, 32, *size)}
    with torch.no_grad():
        want = m(inputs["x"]).numpy()
    export_to(tmp_path / "standard", torch.nn.Sequential(m), inputs, custom=False, ir=False)
    wrapped = torch.nn.Sequential(m)
    enable_custom_ops(wrapped)
    custom = export_to(tmp_path / "custom", wrapped, inputs, custom=True)

    nodes = custom_nodes(custom)
    assert [n.op_type for n in nodes] == [OP_TYPE, OP_TYPE]  # one node per recurrence
    assert attrs(nodes[0]) == {"plugin_version": b"1", "plugin_namespace": b"edgeattn"}

    for rt in RUNTIMES:
        got = run(rt, tmp_path / "custom", inputs)
        assert abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt
    on_standard = run("ort", tmp_path / "standard", inputs)
    on_custom = run("ort", tmp_path / "custom", inputs)
    assert abs(on_standard - on_custom).max() <= tolerance_for("fp32", "ort").max_abs
