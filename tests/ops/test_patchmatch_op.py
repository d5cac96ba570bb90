"""edgeattn::EdgeAttnPatchMatch and the standard-op export against the numpy transcription of PSAL.

The attention alone (q, k, v[, mask] in, PSAL's output out) is exported twice: with standard ops (run on ONNX
Runtime and OpenVINO) and as one custom node (run by its three kernels: onnx.reference, ORT, OpenVINO).
Every result is compared with tests/psal_np.py, an independent transcription of PSAL's code driven by the
same seeded tables, at odd sizes with batch 2. Feature maps are tiny: the standard-op graph unrolls the
whole search (thousands of nodes).
"""

import numpy as np
import pytest
import torch

from edgeattn.nn import PatchMatchAttention
from edgeattn.nn.patchmatch import patchmatch_attend
from edgeattn.ops.patchmatch import OP_TYPE, PLUGIN_VERSION, PatchMatchParams, patchmatch_op
from edgeattn.parity import tolerance_for
from tests.psal_np import psal_attention

from ._graphs import RUNTIMES, attrs, custom_nodes, export_to, run


class _Attend(torch.nn.Module):
    """PSAL attention alone: (q, k, v[, mask]) -> (B, C, H, W), standard ops or the custom node."""

    def __init__(self, params: PatchMatchParams, custom: bool) -> None:
        super().__init__()
        self.params, self.custom = params, custom

    def forward(self, q, k, v, mask=None):
        if self.custom:
            return patchmatch_op(q, k, v, mask, self.params, patchmatch_attend)
        return patchmatch_attend(q, k, v, mask, self.params, export=True)


def _inputs(size, masked, seed=0):
    g = torch.Generator().manual_seed(seed)
    b = 2
    feeds = {"q": torch.randn(b, 4, *size, generator=g), "k": torch.randn(b, 4, *size, generator=g),
             "v": torch.randn(b, 5, *size, generator=g)}
    if masked:
        feeds["mask"] = (torch.rand(b, 1, *size, generator=g) < 0.4).float()
    return feeds


CASES = [  # (size, patch_size, aggregate, masked): odd sizes, both aggregations, both kernels
    ((7, 9), 3, True, False),
    ((9, 7), 3, False, True),
]


@pytest.mark.slow
@pytest.mark.parametrize("size,p,aggregate,masked", CASES)
def test_standard_and_custom_exports_equal_psal_on_every_runtime(tmp_path, size, p, aggregate, masked):
    prm = PatchMatchParams(patch_size=p, n_iters=1, aggregate=aggregate, temperature=8.0, seed=2)
    feeds = _inputs(size, masked)
    arrays = {n: t.numpy() for n, t in feeds.items()}
    want, _ = psal_attention(arrays["q"], arrays["k"], arrays["v"], arrays.get("mask"), 3, p, 1, 8.0, aggregate, 2)

    standard = export_to(tmp_path / "standard", _Attend(prm, custom=False), feeds, custom=False)
    assert custom_nodes(standard) == []
    for rt in ("ort", "openvino"):
        got = run(rt, tmp_path / "standard", feeds)
        assert np.abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt

    custom = export_to(tmp_path / "custom", _Attend(prm, custom=True), feeds, custom=True)
    nodes = custom_nodes(custom)
    assert [n.op_type for n in nodes] == [OP_TYPE]
    a = attrs(nodes[0])
    assert a["plugin_version"] == PLUGIN_VERSION.encode() and a["plugin_namespace"] == b"edgeattn"
    assert (a["seed"], a["patch_size"], a["aggregate"], a["masked"]) == (2, p, int(aggregate), int(masked))
    assert not any(n.op_type.startswith("Gather") for n in custom.graph.node)
    for rt in RUNTIMES:
        got = run(rt, tmp_path / "custom", feeds)
        assert np.abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt


def test_custom_kernels_equal_psal_at_patch_5(tmp_path):
    """The custom node alone (a graph of one node: quick) at p = 5 with a mask, on all three kernels."""
    prm = PatchMatchParams(patch_size=5, n_iters=2, aggregate=True, temperature=8.0, seed=1)
    feeds = _inputs((9, 11), masked=True, seed=1)
    arrays = {n: t.numpy() for n, t in feeds.items()}
    want, _ = psal_attention(arrays["q"], arrays["k"], arrays["v"], arrays["mask"], 3, 5, 2, 8.0, True, 1)
    export_to(tmp_path, _Attend(prm, custom=True), feeds, custom=True)
    for rt in RUNTIMES:
        got = run(rt, tmp_path, feeds)
        assert np.abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt


def test_module_custom_graph_matches_pytorch(tmp_path):
    m = PatchMatchAttention(16, n_iters=1, aggregate=True, seed=5).eval()
    inputs = {"x": torch.randn(2, 16, 8, 7), "mask": (torch.rand(2, 1, 8, 7) > 0.6).float()}
    with torch.no_grad():
        want = m(*inputs.values()).numpy()
        m.use_custom_op = True
        assert (m(*inputs.values()).numpy() == want).all()  # the op runs the same torch code in PyTorch
    export_to(tmp_path, m, inputs, custom=True)
    for rt in RUNTIMES:
        assert np.abs(run(rt, tmp_path, inputs) - want).max() <= tolerance_for("fp32", rt).max_abs, rt
