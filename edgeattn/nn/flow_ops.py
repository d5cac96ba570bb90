"""Optical-flow building blocks: a local correlation (cost volume) and backward warping by a flow field.

Correlation (FlowNetC, Dosovitskiy et al., ICCV 2015, Eq. 1, with 1x1 patches; PWC-Net, Sun et al.,
CVPR 2018, Eq. 2): for every pixel x and displacement o in a (2d+1)^2 window,
    c(x, o) = (1/C) sum_c f1_c(x) f2_c(x + o),     f2 is zero outside the image.
    f1, f2: (B, C, H, W) -> cost volume (B, (2d+1)^2, H, W), displacements in `neighbor_offsets` order.
- reference path: `F.unfold` of the zero-padded f2 + einsum, as one would write the equation;
- export path (no custom op, no Einsum, no Gather, rank <= 4, any H x W): a tiled banded MatMul. The
  row of f1 is cut into tiles of TILE pixels (zero-padded to a whole number of tiles); each tile meets the
  window of the zero-padded f2 row y+dy that its displacements reach, TILE+2d pixels wide (the tile of f2
  plus the first 2d pixels of the next one: two static slices and a Concat, no Gather). One batched MatMul
  per vertical displacement dy, (B*H*tiles, TILE, C) x (B*H*tiles, C, TILE+2d), gives every (x, x') pair
  inside a tile's window; the band x' = x + dx is read out without Gather by the skew trick (flatten, pad
  TILE, reshape to rows of TILE+2d+1, slice the first 2d+1 columns). The MatMul computes (TILE+2d)/(2d+1)
  times the needed products (2.4x at d=2, 2x at d=3), which costs less than streaming (2d+1)^2 shifted copies
  of f2: measured on ONNX Runtime and OpenVINO (2 threads, docs/perf-export-paths.md), 1.6-4.2x faster than
  the stacked shifted views, and than an untiled band over the whole row 1.4-3.9x faster on wide maps and as
  fast on narrow ones (W=64).
Warping (`warp`): f2 sampled at x + flow(x) with bilinear `grid_sample` (ONNX GridSample, opset >= 16, 4-D
input as TensorRT requires). The base pixel grid is built from a ones map by CumSum and normalised by
ReduceSum of the same map, so the graph needs no Shape/Gather/Range and follows dynamic H x W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._paths import DualPathModule, Path

__all__ = ["Correlation", "warp", "TILE"]

#: pixels per tile of the export path's banded MatMul (at least 2d is used). Tiles of 8 and 16 measured within 10%
#: of each other at the flow models' two correlations (32: up to 25% slower on a 203-wide map, 4: up to 1.5x);
#: 16 was the fastest or within 7% of it at every size tried, on both runtimes.
TILE = 16


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
        return _tiled_band_correlation(f1, f2, self.max_displacement, max(TILE, 2 * self.max_displacement))

    def extra_repr(self) -> str:
        return f"max_displacement={self.max_displacement}, path={self.path}"


def _tiled_band_correlation(f1: torch.Tensor, f2: torch.Tensor, d: int, tile: int) -> torch.Tensor:
    """The export path (see the module docstring); `tile` >= 2d."""
    b, c, h, w = f1.shape
    k, row = 2 * d + 1, tile + 2 * d
    n = (w + tile - 1) // tile  # tiles per row (not -(-w // tile): TorchScript exports // of negatives wrongly)
    f1t = F.pad(f1 * (1.0 / c), (0, n * tile - w)).permute(0, 2, 3, 1)  # (B, H, n*tile, C), channel mean folded in
    f1t = f1t.reshape(b * h * n, tile, c)
    # f2 zero-padded by d all round, and on the right to n+1 whole tiles: (B*(H+2d), n+1, tile, C)
    f2p = F.pad(f2, (d, (n + 1) * tile - w - d, d, d)).permute(0, 2, 3, 1).reshape(b * (h + 2 * d), n + 1, tile, c)
    windows = torch.cat([f2p[:, :n], f2p[:, 1:, : 2 * d]], dim=2)  # (B*(H+2d), n, tile+2d, C): tile + 2d right
    windows = windows.reshape(b, h + 2 * d, n, row * c)
    bands = []
    for dy in range(k):
        win = windows[:, dy : dy + h].reshape(b * h * n, row, c)  # f2 rows y + dy - d
        pairs = torch.matmul(f1t, win.transpose(1, 2))  # (B*H*n, tile, tile+2d): f1(y, x) . f2(y+dy-d, x')
        flat = F.pad(pairs.reshape(b * h * n, tile * row), (0, tile))
        bands.append(flat.reshape(b * h * n, tile, row + 1)[:, :, :k])  # [x, j] = pairs[x, x + j], dx = j - d
    out = torch.cat(bands, dim=2).reshape(b, h, n * tile, k * k)[:, :, :w]  # (B, H, W, K), (dy, dx) order
    return out.permute(0, 3, 1, 2)


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
