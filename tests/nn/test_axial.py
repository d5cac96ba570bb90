import pytest
import torch

from edgeattn.nn import ChannelizedAxialAttention, set_path

from ._onnx import export_module, hostile, run_ort


def _module(channels=16):
    m = ChannelizedAxialAttention(channels).eval()
    for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        torch.nn.init.normal_(bn.bias, std=0.3)
    return m


@pytest.mark.parametrize("size", [(13, 19), (19, 13), (1, 1), (1, 9), (7, 1)])
def test_paths_agree(size):
    m = _module()
    x = torch.randn(2, 16, *size)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert ref.shape == x.shape and ref.abs().max() > 0.1
    assert (ref - exp).abs().max().item() <= 1e-5


def _plain_axial(m, x):
    """Column then row attention without channel attention, written independently with einsum."""
    qv, qh, v = m.v_querykey(x), m.h_querykey(x), m.value(x)
    a_col = torch.softmax(torch.einsum("bciw,bckw->bwik", qv, qv), -1)  # (B, W, H, H')
    y = torch.einsum("bwik,bckw->bciw", a_col, v)
    a_row = torch.softmax(torch.einsum("bchj,bchk->bhjk", qh, qh), -1)  # (B, H, W, W')
    return torch.einsum("bhjk,bchk->bchj", a_row, y)


@pytest.mark.parametrize("path", ["reference", "export"])
def test_channel_attention_scales_inside_both_sums(path):
    m = _module()
    x = torch.randn(2, 16, 6, 9)
    with torch.no_grad():
        for mlp in (m.v_channel_attention, m.h_channel_attention):
            mlp.end.weight.zero_()  # gate = sigmoid(0) = 0.5 for every channel
        got = set_path(m, path)(x)
        assert (got - 0.25 * _plain_axial(m, x)).abs().max().item() <= 1e-5  # both gates applied
        assert (got - 0.5 * _plain_axial(m, x)).abs().max().item() > 1e-2  # ... not only one


def test_export_is_clean_and_dynamic():
    m = _module()
    proto = export_module(m, (10, 14), 16)
    assert hostile(proto) == []
    for size in [(7, 19), (12, 5)]:
        x = torch.randn(2, 16, *size)
        with torch.no_grad():
            want = set_path(m, "reference")(x).numpy()
        assert abs(run_ort(proto, x) - want).max() <= 1e-5
