"""Correlation (reference vs export path) and warping by a flow field."""

import pytest
import torch

from edgeattn.nn.flow_ops import Correlation, warp


@pytest.mark.parametrize("size", [(7, 11), (13, 5)])
def test_correlation_paths_agree_at_odd_sizes(size):
    f1, f2 = torch.randn(2, 2, 6, *size).unbind(0)
    ref = Correlation(3, path="reference")(f1, f2)
    exp = Correlation(3, path="export")(f1, f2)
    assert ref.shape == (2, 49, *size)
    torch.testing.assert_close(exp, ref, rtol=1e-5, atol=1e-6)


def test_correlation_peaks_at_the_true_displacement():
    f1 = torch.randn(1, 256, 12, 12)  # many channels: the true match clearly beats chance correlations
    f2 = torch.roll(f1, shifts=(1, -2), dims=(2, 3))  # f2(y, x) = f1(y-1, x+2): f1(x) is found at offset (+1, -2)
    cost = Correlation(2)(f1, f2)[0, :, 3:-3, 3:-3]  # interior, away from the zero padding and the wrap-around
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    assert all(offsets[i] == (1, -2) for i in cost.argmax(0).flatten().tolist())


def test_warp_by_zero_and_integer_flow():
    x = torch.randn(1, 3, 9, 10)
    torch.testing.assert_close(warp(x, torch.zeros(1, 2, 9, 10)), x, rtol=0, atol=1e-6)
    flow = torch.zeros(1, 2, 9, 10)
    flow[:, 0], flow[:, 1] = 2.0, -1.0  # sample x(y - 1, x + 2)
    out = warp(x, flow)
    torch.testing.assert_close(out[..., 1:, :-2], x[..., :-1, 2:], rtol=0, atol=1e-5)
    assert out[..., 0, :].abs().max() == 0 and out[..., :, -2:].abs().max() == 0  # zeros outside


def test_warp_half_pixel_is_the_average_of_neighbours():
    x = torch.randn(1, 1, 4, 6)
    flow = torch.zeros(1, 2, 4, 6)
    flow[:, 0] = 0.5
    torch.testing.assert_close(warp(x, flow)[..., :-1], (x[..., :-1] + x[..., 1:]) / 2, rtol=0, atol=1e-6)


def test_correlation_rejects_bad_displacement():
    with pytest.raises(ValueError, match="max_displacement"):
        Correlation(0)


@pytest.mark.parametrize("size,d,tile", [((7, 11), 3, 6), ((13, 5), 2, 4), ((5, 40), 1, 16), ((6, 32), 2, 16),
                                         ((4, 33), 4, 8), ((3, 17), 2, 16)])
def test_tiled_band_matches_the_reference(size, d, tile):
    """Widths below, at, just over and many times the tile, and tile == 2d (the smallest the window allows)."""
    from edgeattn.nn import flow_ops

    f1, f2 = torch.randn(2, 2, 6, *size).unbind(0)
    ref = Correlation(d, path="reference")(f1, f2)
    torch.testing.assert_close(flow_ops._tiled_band_correlation(f1, f2, d, tile), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("width", [11, 100])
def test_export_runs_on_ort_at_other_sizes_and_stays_trt_clean(width):
    from edgeattn.export.audit import audit

    from ._onnx import export_module, hostile, run_ort

    class Pair(torch.nn.Module):  # one input for the test helpers: (B, 2C, H, W) -> both feature maps
        def __init__(self):
            super().__init__()
            self.corr = Correlation(2)

        def forward(self, x):
            return self.corr(x[:, :6], x[:, 6:])

    m = Pair().eval()
    proto = export_module(m, (9, width), 12, dynamic=True)
    assert hostile(proto) == []
    assert audit(proto, "trt").errors == []
    # dynamic H and W, including a width that changes the number of tiles: the pads and reshapes follow the shape
    for size in [(9, width), (6, width + 3), (5, width + 17)]:
        x = torch.randn(2, 12, *size)
        with torch.no_grad():
            ref = Correlation(2, path="reference")(x[:, :6], x[:, 6:]).numpy()
        assert abs(run_ort(proto, x) - ref).max() <= 1e-5
