"""edgeattn::EdgeAttnPatchMatch: PyTorch vs ReferenceEvaluator vs ONNX Runtime vs OpenVINO, custom vs standard."""

import pytest
import torch

from edgeattn.nn import PatchMatchAttention
from edgeattn.ops.patchmatch import OP_TYPE
from edgeattn.parity import tolerance_for

from ._graphs import RUNTIMES, attrs, custom_nodes, export_to, run


@pytest.mark.parametrize("size", [(8, 10), (11, 7)])
def test_custom_graph_matches_pytorch_on_every_runtime_and_the_standard_graph(tmp_path, size):
    m = PatchMatchAttention(16, n_iters=1, aggregate=size[0] == 8, seed=5).eval()
    inputs = {"x": torch.randn(1, 16, *size), "mask": (torch.rand(1, 1, *size) > 0.75).float()}
    with torch.no_grad():
        want = m(*inputs.values()).numpy()
    standard = export_to(tmp_path / "standard", m, inputs, custom=False, ir=False)
    m.use_custom_op = True
    with torch.no_grad():
        assert (m(*inputs.values()).numpy() == want).all()  # the op runs the same torch code in PyTorch
    custom = export_to(tmp_path / "custom", m, inputs, custom=True)

    nodes = custom_nodes(custom)
    assert [n.op_type for n in nodes] == [OP_TYPE]
    a = attrs(nodes[0])
    assert a["plugin_version"] == b"1" and a["plugin_namespace"] == b"edgeattn" and a["seed"] == 5
    assert not any(n.op_type.startswith("Gather") for n in custom.graph.node)
    assert custom_nodes(standard) == []

    for rt in RUNTIMES:
        got = run(rt, tmp_path / "custom", inputs)
        assert abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt
    on_standard = run("ort", tmp_path / "standard", inputs)
    on_custom = run("ort", tmp_path / "custom", inputs)
    assert abs(on_standard - on_custom).max() <= tolerance_for("fp32", "ort").max_abs
