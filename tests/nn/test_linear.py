import pytest
import torch
import torch.nn.functional as F

from edgeattn.nn import LinearAttention, set_path

from ._onnx import export_module, hostile, run_ort


def _module(channels=32):
    m = LinearAttention(channels).eval()
    with torch.no_grad():
        m.gamma.fill_(1.0)  # the reference starts at 0 (identity)
    return m


@pytest.mark.parametrize("size", [(7, 19), (19, 7), (1, 12), (12, 1), (1, 1)])
def test_paths_agree_on_non_square_inputs(size):
    m = _module()
    x = torch.randn(2, 32, *size)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert ref.shape == x.shape and (ref - x).abs().max() > 0.1
    assert (ref - exp).abs().max().item() <= 1e-5


@pytest.mark.parametrize("path", ["reference", "export"])
def test_matches_the_quadratic_taylor_attention(path):
    # out_n = sum_m (1 + q_n.k_m) v_m / (sum_m (1 + q_n.k_m) + eps * sum_c q_nc), q, k l2-normalised.
    m = _module(16)
    x = torch.randn(1, 16, 5, 8)
    with torch.no_grad():
        q = F.normalize(m.query_conv(x).flatten(2), dim=1)[0]  # (Ck, N)
        k = F.normalize(m.key_conv(x).flatten(2), dim=1)[0]
        v = m.value_conv(x).flatten(2)[0]  # (C, N)
        weights = 1 + q.t() @ k  # (N, N), the first-order Taylor kernel
        assert weights.min() >= -1e-6  # l2 normalisation keeps every weight non-negative
        denom = weights.sum(1) + m.eps * q.sum(0)
        want = x + m.gamma * ((v @ weights.t()) / denom).view(1, 16, 5, 8)
        got = set_path(m, path)(x)
    assert (got - want).abs().max().item() <= 1e-5


def test_export_is_clean_and_runs_on_non_square_dynamic_sizes():
    m = _module()
    proto = export_module(m, (6, 10), 32)
    assert hostile(proto) == []
    for node in proto.graph.node:  # the reference's permute(-3, -1, -2) wrote a negative perm
        for attr in node.attribute:
            if attr.name == "perm":
                assert min(attr.ints) >= 0
    for size in [(9, 23), (23, 9)]:
        x = torch.randn(2, 32, *size)
        with torch.no_grad():
            want = m(x).numpy()
        assert abs(run_ort(proto, x) - want).max() <= 1e-5
