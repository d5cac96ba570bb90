import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgeattn.nn import HierarchicalPAKA, PixelAdaptiveKernelAttention, set_path


def _both_paths(module, x):
    with torch.no_grad():
        ref = set_path(module, "reference")(x)
        exp = set_path(module, "export")(x)
    return ref, exp


def _randomize(module, std=0.3):
    """Attention convs (and everything else) ~ N(0, std^2), far from the plain-conv regime; each PAKA kernel
    at He scale (std sqrt(2 / fan_in), what `init_weights` gives models), so that outputs stay O(1)-O(10)
    and a 1e-5 difference means a wrong term rather than fp32 rounding of a 400-term sum."""
    for p in module.parameters():
        torch.nn.init.normal_(p, std=std)
    for m in module.modules():
        if isinstance(m, PixelAdaptiveKernelAttention):
            fan_in = m.weight.shape[1] * m.weight.shape[2]
            torch.nn.init.normal_(m.weight, std=(2.0 / fan_in) ** 0.5)
    return module.eval()


@pytest.mark.parametrize("size", [(17, 23), (1, 1), (5, 40)])
@pytest.mark.parametrize("kernel_size,dilation", [(3, 1), (3, 3), (5, 2)])
def test_paka_paths_agree(size, kernel_size, dilation):
    m = _randomize(PixelAdaptiveKernelAttention(16, 12, kernel_size, dilation, reduction=4, bias=True))
    x = torch.randn(2, 16, *size)
    ref, exp = _both_paths(m, x)
    assert ref.shape == (2, 12, *size)
    assert (ref - exp).abs().max().item() <= 1e-5


@pytest.mark.parametrize("size", [(13, 19), (3, 50)])
def test_hpm_paths_agree(size):
    m = _randomize(HierarchicalPAKA(24, 8, dilations=(1, 2, 5)), std=0.2)
    x = torch.randn(2, 24, *size)
    ref, exp = _both_paths(m, x)
    assert ref.shape == x.shape
    assert (ref - exp).abs().max().item() <= 1e-5


@pytest.mark.parametrize("path", ["reference", "export"])
def test_zero_attention_is_the_plain_convolution(path):
    # With both attention maps at 0 the modulation is 1 + tanh(0) = 1: PAKA is a dilated k x k conv whose
    # kernel is `weight` read as (C_out, C_in, k, k). This pins the (channel, tap) layout of the weight.
    k, d = 3, 2
    m = _randomize(PixelAdaptiveKernelAttention(8, 6, k, d, bias=True), std=0.2)
    for seq in (m.conv_c, m.conv_d):
        torch.nn.init.zeros_(seq[-1].weight)
        torch.nn.init.zeros_(seq[-1].bias)
    x = torch.randn(2, 8, 9, 14)
    with torch.no_grad():
        y = set_path(m, path)(x)
        conv = F.conv2d(x, m.weight.view(6, 8, k, k), m.bias, padding=d, dilation=d)
    assert (y - conv).abs().max().item() <= 1e-5


@pytest.mark.parametrize("path", ["reference", "export"])
def test_tap_attention_gives_the_kernel_a_direction(path):
    # Saturated tap attention: every tap but the right-hand neighbour switched off (1 + tanh(-30) = 0),
    # that one doubled (1 + tanh(30) = 2). The layer becomes 2 x a 1x1 conv of the image shifted left.
    k = 3
    m = _randomize(PixelAdaptiveKernelAttention(4, 5, k), std=0.2)
    torch.nn.init.zeros_(m.conv_c[-1].weight)
    torch.nn.init.zeros_(m.conv_c[-1].bias)
    torch.nn.init.zeros_(m.conv_d[-1].weight)
    right = 5  # tap (dy, dx) = (0, +1) in row-major order
    with torch.no_grad():
        m.conv_d[-1].bias.fill_(-30.0)
        m.conv_d[-1].bias[right] = 30.0
    x = torch.randn(1, 4, 6, 7)
    with torch.no_grad():
        y = set_path(m, path)(x)
        shifted = F.pad(x[..., 1:], (0, 1))  # x[..., y, x+1], zero beyond the right border
        expected = 2 * F.conv2d(shifted, m.weight[:, :, right])
    assert (y - expected).abs().max().item() <= 1e-5


def test_hpm_receptive_field_grows_with_the_dilations():
    # Level s reaches d_s pixels further (its taps; the 3x3 attention conv reaches 1 <= d_s), so a change at
    # one pixel moves outputs exactly sum(d) = 1 + 2 + 4 pixels away (Chebyshev distance) and no further.
    m = HierarchicalPAKA(8, 8, dilations=(1, 2, 4)).eval()
    x = torch.randn(1, 8, 21, 21)
    with torch.no_grad():
        y0 = m(x)
        x[0, :, 10, 10] += 5.0
        moved = (m(x) - y0).abs().sum(1)[0] > 1e-6
    ys, xs = torch.nonzero(moved, as_tuple=True)
    assert (ys - 10).abs().max() == 7 and (xs - 10).abs().max() == 7


def test_paths_share_the_state_dict():
    a = HierarchicalPAKA(16, 8, path="reference")
    b = HierarchicalPAKA(16, 8, path="export")
    assert a.state_dict().keys() == b.state_dict().keys()
    b.load_state_dict(a.state_dict())
    assert a.levels[0][0].weight.shape == (8, 16, 9, 1, 1)  # the public PAKA2d layout


def test_export_graph_is_4d_and_runs_at_another_size():
    ort = pytest.importorskip("onnxruntime")
    from edgeattn.export.audit import audit
    from edgeattn.export.onnx import export_onnx

    m = _randomize(HierarchicalPAKA(16, 8, dilations=(1, 3)), std=0.2)
    proto = export_onnx(m, [torch.randn(1, 16, 11, 9)], input_names=["x"], output_name="y", dynamic=True)
    report = audit(proto, "ort")
    assert report.hostile() == [], report.summary()
    assert not {"Einsum", "Conv3D"} & set(report.op_counts)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 16, 7, 20)
    (got,) = sess.run(None, {"x": x.numpy()})
    with torch.no_grad():
        want = set_path(m, "reference")(x).numpy()
    assert np.abs(got - want).max() <= 1e-5


def test_invalid_arguments():
    with pytest.raises(ValueError, match="odd"):
        PixelAdaptiveKernelAttention(8, 8, kernel_size=4)
    with pytest.raises(ValueError, match="dilation"):
        PixelAdaptiveKernelAttention(8, 8, dilation=0)
    with pytest.raises(ValueError, match="dilations"):
        HierarchicalPAKA(8, dilations=())
