"""Optical-flow building blocks: a local correlation (cost volume) and backward warping by a flow field.

Correlation (FlowNetC, Dosovitskiy et al., ICCV 2015, Eq. 1, with 1x1 patches; PWC-Net, Sun et al.,
CVPR 2018, Eq. 2): for every pixel x and displacement o in a (2d+1)^2 window,
    c(x, o) = (1/C) sum_c f1_c(x) f2_c(x + o),     f2 is zero outside the image.
    f1, f2: (B, C, H, W) -> cost volume (B, (2d+1)^2, H, W), displacements in `neighbor_offsets` order.
- reference path: `F.unfold` of the zero-padded f2 + einsum, as one would write the equation;
- export path (no custom op, no Einsum, no Gather, rank <= 4, any H x W), one of two exact
  formulations chosen from the feature-map width at export time (both are correct at every size):
  * banded MatMul (narrow maps, (W+2d) <= BAND_WASTE_MAX * (2d+1)): f1 channels-last (B, H, W, C) times the
    zero-padded f2 row y+dy (B, H, C, W+2d), one MatMul per vertical displacement dy, gives every
    (x, x') pair of the two rows; the band x' = x + dx is read out without Gather by the skew trick
    (flatten, pad W, reshape to rows of W+2d+1, slice the first 2d+1 columns). 2d+1 MatMuls instead of
    (2d+1)^2 Mul + ReduceMean, at (W+2d)/(2d+1) times the MACs, which MatMul does cheaply while the maps are
    narrow;
  * stacked views (wide maps): the (2d+1)^2 shifted views of the zero-padded f2 (Pad + static Slice,
    `nn/_neighbors.py`) concatenated to (B, K, C, HW), one Mul by f1 (B, 1, C, HW) and the channel mean as
    one MatMul by a constant (1, C) row of 1/C: three ops in place of K Mul + K ReduceMean (ONNX Runtime
    reduces over the channel axis slowly; measured: 3-10x less time for the correlation).
Warping (`warp`): f2 sampled at x + flow(x) with bilinear `grid_sample` (ONNX GridSample, opset >= 16, 4-D
input as TensorRT requires). The base pixel grid is built from a ones map by CumSum and normalised by
ReduceSum of the same map, so the graph needs no Shape/Gather/Range and follows dynamic H x W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._neighbors import shifted_views
from ._paths import DualPathModule, Path

__all__ = ["Correlation", "warp", "BAND_WASTE_MAX"]

#: the banded MatMul computes (W+2d)/(2d+1) times the needed products; above this factor the stacked views win
#: (measured on ONNX Runtime and OpenVINO: W=64, d=3 -> banded; W=128, d=2 -> stacked)
BAND_WASTE_MAX = 12


class Correlation(DualPathModule):
    """Local correlation of two feature maps over displacements up to `max_displacement` pixels."""

    def __init__(self, max_displacement: int = 3, path: Path = "export") -> None:
        super().__init__(path)
        if max_displacement < 1:
            raise ValueError(f"max_displacement must be >= 1, got {max_displacement}")
        self.max_displacement = max_displacement

    @property
    def out_channels(self) -> int:
        return (2 * self.max_displacement + 1) ** 2

    def forward_reference(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f1.shape
        k = 2 * self.max_displacement + 1
        nbrs = F.unfold(f2, k, padding=self.max_displacement).view(b, c, k * k, h, w)  # (B, C, k*k, H, W)
        return torch.einsum("bchw,bckhw->bkhw", f1, nbrs) / c

    def forward_export(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        d = self.max_displacement
        if f1.shape[3] + 2 * d <= BAND_WASTE_MAX * (2 * d + 1):
            return _banded_correlation(f1, f2, d)
        return _stacked_correlation(f1, f2, d)

    def extra_repr(self) -> str:
        return f"max_displacement={self.max_displacement}, path={self.path}"


def _banded_correlation(f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    b, c, h, w = f1.shape
    k, row = 2 * d + 1, w + 2 * d
    f1t = (f1 * (1.0 / c)).permute(0, 2, 3, 1)  # (B, H, W, C), the channel mean folded in
    f2p = F.pad(f2, (d, d, d, d)).permute(0, 2, 1, 3)  # (B, H+2d, C, W+2d)
    bands = []
    for dy in range(k):
        pairs = torch.matmul(f1t, f2p[:, dy : dy - 2 * d or None])  # (B, H, W, W+2d): f1(y, x) . f2(y+dy-d, x')
        flat = F.pad(pairs.reshape(b, h, w * row), (0, w))  # (B, H, W*(W+2d) + W)
        skew = flat.reshape(b * h, w, row + 1)  # (B*H, W, W+2d+1): [x, j] = pairs[x, x + j]
        bands.append(skew[:, :, :k])  # (B*H, W, 2d+1): dx = j - d
    return torch.cat(bands, dim=2).reshape(b, h, w, k * k).permute(0, 3, 1, 2)  # (B, K, H, W), (dy, dx) order


def _stacked_correlation(f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    b, c, h, w = f1.shape
    k = 2 * d + 1
    views = torch.cat(shifted_views(f2, k), dim=1).reshape(b, k * k, c, h * w)  # (B, K, C, HW)
    prod = views * f1.reshape(b, 1, c, h * w)  # (B, K, C, HW)
    mean = torch.full((1, c), 1.0 / c, dtype=f1.dtype, device=f1.device)  # (1, C)
    return torch.matmul(mean, prod).reshape(b, k * k, h, w)  # (B, K, 1, HW) -> (B, K, H, W)


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out(p) = x(p + flow(p)), bilinear, zeros outside.

    x: (B, C, H, W); flow: (B, 2, H, W) in pixels, channel 0 = horizontal (u), 1 = vertical (v).
    With align_corners=False, pixel centre i maps to (2 i + 1) / W - 1 in grid_sample's [-1, 1] frame.
    """
    ones = torch.ones_like(flow[:, :1])  # (B, 1, H, W)
    xs = torch.cumsum(ones, dim=3) - 0.5  # pixel centres 0.5 .. W-0.5
    ys = torch.cumsum(ones, dim=2) - 0.5
    width = torch.sum(ones, dim=3, keepdim=True)  # (B, 1, H, 1)
    height = torch.sum(ones, dim=2, keepdim=True)  # (B, 1, 1, W)
    gx = 2 * (xs + flow[:, 0:1]) / width - 1
    gy = 2 * (ys + flow[:, 1:2]) / height - 1
    grid = torch.cat([gx, gy], dim=1).permute(0, 2, 3, 1)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
