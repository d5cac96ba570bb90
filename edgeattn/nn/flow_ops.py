"""Optical-flow building blocks: a local correlation (cost volume) and backward warping by a flow field.

Correlation (FlowNetC, Dosovitskiy et al., ICCV 2015, Eq. 1, with 1x1 patches; PWC-Net, Sun et al.,
CVPR 2018, Eq. 2): for every pixel x and displacement o in a (2d+1)^2 window,
    c(x, o) = (1/C) sum_c f1_c(x) f2_c(x + o),     f2 is zero outside the image.
    f1, f2: (B, C, H, W) -> cost volume (B, (2d+1)^2, H, W), displacements in `neighbor_offsets` order.
- reference path: `F.unfold` of the zero-padded f2 + einsum, as one would write the equation;
- export path: (2d+1)^2 shifted views of the zero-padded f2 (Pad + static Slice, `nn/_neighbors.py`), each
  multiplied by f1 and averaged over channels (Mul + ReduceMean), then one Concat: no custom op, no Einsum,
  no Gather, rank 4, any H x W.

Warping (`warp`): f2 sampled at x + flow(x) with bilinear `grid_sample` (ONNX GridSample, opset >= 16, 4-D
input as TensorRT requires). The base pixel grid is built from a ones map by CumSum and normalised by
ReduceSum of the same map, so the graph needs no Shape/Gather/Range and follows dynamic H x W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._neighbors import shifted_views
from ._paths import DualPathModule, Path

__all__ = ["Correlation", "warp"]


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
        k = 2 * self.max_displacement + 1
        planes = [torch.mean(f1 * nb, dim=1, keepdim=True) for nb in shifted_views(f2, k)]  # k*k x (B, 1, H, W)
        return torch.cat(planes, dim=1)  # (B, k*k, H, W)

    def extra_repr(self) -> str:
        return f"max_displacement={self.max_displacement}, path={self.path}"


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
