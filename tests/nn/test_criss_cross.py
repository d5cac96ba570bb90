import pytest
import torch

from edgeattn.nn import CrissCrossAttention, set_path

from ._onnx import export_module, hostile, op_count, run_ort


def _module(channels=32, recurrence=2, gamma=1.0):
    m = CrissCrossAttention(channels, recurrence=recurrence).eval()
    with torch.no_grad():
        m.gamma.fill_(gamma)  # CCNet starts at 0 (identity); a non-zero gamma exercises the attention
    return m


@pytest.mark.parametrize("size", [(13, 19), (19, 13), (1, 1), (1, 7), (6, 1), (5, 40)])
def test_paths_agree_to_1e6(size):
    m = _module()
    x = torch.randn(2, 32, *size)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert (ref - x).abs().max() > 0.1  # the attention branch contributes
    assert (ref - exp).abs().max().item() <= 1e-6


def _brute_force_cca(m, x):
    """One criss-cross pass, pixel by pixel: softmax over the H+W-1 distinct pixels of row and column."""
    q, k, v = m.query_conv(x), m.key_conv(x), m.value_conv(x)
    _, _, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(h):
        for j in range(w):
            cells = [(r, j) for r in range(h)] + [(i, c) for c in range(w) if c != j]  # centre once
            e = torch.stack([(q[0, :, i, j] * k[0, :, r, c]).sum() for r, c in cells])
            a = torch.softmax(e, 0)
            out[0, :, i, j] = sum(a[n] * v[0, :, r, c] for n, (r, c) in enumerate(cells))
    return m.gamma * out + x


@pytest.mark.parametrize("path", ["reference", "export"])
def test_one_pass_matches_pixelwise_definition(path):
    m = _module(16, recurrence=1)
    x = torch.randn(1, 16, 4, 5)
    with torch.no_grad():
        got = set_path(m, path)(x)
        want = _brute_force_cca(m, x)
    assert (got - want).abs().max().item() <= 1e-5


@pytest.mark.parametrize("path", ["reference", "export"])
def test_attends_exactly_to_row_and_column(path):
    m = set_path(_module(16, recurrence=1), path)
    x = torch.randn(1, 16, 7, 9)
    y0 = m(x).detach()
    x2 = x.clone()
    x2[0, :, 2, 5] += 3.0
    changed = ((m(x2).detach() - y0).abs().amax(1)[0] > 1e-6)
    cross = torch.zeros(7, 9, dtype=torch.bool)
    cross[2, :] = True
    cross[:, 5] = True
    assert torch.equal(changed, cross)
    # Two recurrences with shared weights reach every pixel.
    m.recurrence = 2
    assert ((m(x2) - m(x)).abs().amax(1)[0] > 1e-6).all()


def test_state_dict_is_ccnet_compatible_and_accepts_mmcv_gamma():
    m = CrissCrossAttention(64)
    assert set(m.state_dict()) == {"query_conv.weight", "query_conv.bias", "key_conv.weight", "key_conv.bias",
                                   "value_conv.weight", "value_conv.bias", "gamma"}
    assert m.query_conv.out_channels == 8 and m.value_conv.out_channels == 64
    assert m.gamma.item() == 0.0  # CCNet's initialisation
    mmcv = {k: v.clone() for k, v in m.state_dict().items() if k != "gamma"}
    mmcv["gamma.scale"] = torch.tensor(0.75)  # mmcv keeps gamma in a Scale module, 0-d
    m.load_state_dict(mmcv)
    assert m.gamma.shape == (1,) and m.gamma.item() == 0.75


def test_export_is_clean_dynamic_and_uses_few_transposes():
    m = _module(32)
    proto = export_module(m, (12, 20), 32)
    assert hostile(proto) == []  # no Einsum, Gather over data, -inf, rank > 4
    assert op_count(proto, "Einsum") == 0
    # 1 transpose in, 1 out, 8 per recurrence (the reference exports with 14 per recurrence); no Concat/Slice/
    # Split of the attention tensor (split softmax with a shared max).
    assert op_count(proto, "Transpose") <= 2 + 8 * m.recurrence
    assert op_count(proto, "Concat") + op_count(proto, "Split") + op_count(proto, "Softmax") == 0
    from edgeattn.export.audit import audit

    assert audit(proto, "trt").errors == []  # TensorRT-clean: no Einsum, no data Gather, rank <= 4
    for size in [(9, 23), (16, 5)]:  # other sizes than the export size
        x = torch.randn(2, 32, *size)
        with torch.no_grad():
            want = m(x).numpy()
        assert abs(run_ort(proto, x) - want).max() <= 1e-5


def test_invalid_arguments():
    with pytest.raises(ValueError, match="reduction"):
        CrissCrossAttention(4)
    with pytest.raises(ValueError, match="recurrence"):
        CrissCrossAttention(16, recurrence=0)
