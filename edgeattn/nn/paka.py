"""Pixel-adaptive kernel attention (PAKA) and the hierarchical PAKA module (HPM).

Paper: M.-C. Sagong, Y.-J. Yeo, S.-W. Jung, S.-J. Ko, "Content-aware Directed Propagation Network with
Pixel Adaptive Kernel Attention", arXiv:2107.13144 (2021).

What the paper states: a convolution's weights are given "directivity" by multiplying them with spatially
varying attention inferred from the features; the attention is inferred separately along the channel
direction and the spatial (kernel-tap) direction, which decomposes the per-pixel kernel with few
parameters; HPM aggregates information with PAKA as a segmentation head.

PAKA formulation implemented here (read from a public PyTorch `PAKA2d` layer built on detectron2, which
matches the paper's description; the paper's own equations could not be read from here):

    A_c = W_c2 ReLU(W_c1 x + b_c1) + b_c2         (B, C_in, H, W)   channel attention, 1x1 -> C_in/r -> C_in
    A_s = W_s2 ReLU(W_s1 * x + b_s1) + b_s2       (B, k^2, H, W)    tap attention, 3x3 -> C_in/r, 1x1 -> k^2
    y_i[o'] = b[o'] + sum_{c, t} W[o', c, t] * x[c, i + d*t] * (1 + tanh(A_s[t, i] + A_c[c, i]))

for the k^2 taps t of a k x k window with dilation d and zero padding ("same" size, stride 1). Where
A_c and A_s are 0 the layer is a plain k x k convolution with weight W; the attention rescales every
(channel, tap) weight per pixel by a factor in (0, 2).

HPM (an assumption: the paper's description of the module could not be read from here, so this is
edgeattn's reading of "hierarchical PAKA module that aggregates information at several scales"): S
levels of PAKA 3x3 with growing dilation d_1 < ... < d_S, each followed by BN + ReLU, where level s
takes level s-1's output (hierarchical: the receptive field grows level by level, 1 + 2*sum(d)); the
input and all levels are concatenated and fused by a 1x1 conv + BN + ReLU back to C channels:

    h_0 = x,  h_s = ReLU(BN(PAKA_{d_s}(h_{s-1}))),  y = ReLU(BN(W_f [x, h_1, ..., h_S]))

Paths:
- reference: `F.unfold` + a 5-D product + `F.conv3d`, as the public PAKA2d computes it;
- export: the k^2 taps as shifted views of a zero-padded map (Pad + static Slice), each multiplied by
  its 4-D modulation, concatenated (B, k^2*C_in, H, W) and contracted by one 1x1 Conv whose weight is
  W permuted to tap-major order: no unfold, no 5-D/6-D tensors, any H x W with dynamic shapes.

Shapes: PAKA x (B, C_in, H, W) -> (B, C_out, H, W); HPM x (B, C, H, W) -> (B, C, H, W); any H, W >= 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._neighbors import shifted_views
from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["PixelAdaptiveKernelAttention", "HierarchicalPAKA"]


class PixelAdaptiveKernelAttention(DualPathModule):
    """PAKA k x k convolution: weights modulated per pixel by channel and tap attention."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1,
                 reduction: int = 4, bias: bool = False, path: Path = "export") -> None:
        super().__init__(path)
        if kernel_size % 2 != 1 or kernel_size < 1:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
        if reduction < 1:
            raise ValueError(f"reduction must be >= 1, got {reduction}")
        hidden = max(in_channels // reduction, 1)
        self.kernel_size = kernel_size
        self.dilation = dilation
        # (C_out, C_in, k^2, 1, 1): the layout of the public PAKA2d, so its state dicts load directly.
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size**2, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.conv_c = nn.Sequential(nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True),
                                    nn.Conv2d(hidden, in_channels, 1))
        self.conv_d = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                    nn.Conv2d(hidden, kernel_size**2, 1))

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        k, d = self.kernel_size, self.dilation
        taps = F.unfold(x, k, dilation=d, padding=d * (k // 2)).view(b, c, k * k, h, w)  # (B, C, k^2, H, W)
        mod = 1 + torch.tanh(self.conv_d(x).unsqueeze(1) + self.conv_c(x).unsqueeze(2))  # (B, C, k^2, H, W)
        return F.conv3d(taps * mod, self.weight, self.bias).squeeze(2)  # (B, C_out, H, W)

    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        a_c = self.conv_c(x)  # (B, C, H, W)
        a_s = self.conv_d(x).split(1, dim=1)  # k^2 x (B, 1, H, W): one Split node, not k^2 Slices
        views = shifted_views(x, self.kernel_size, self.dilation)  # k^2 x (B, C, H, W)
        modulated = [v * (1 + torch.tanh(a_c + a_t)) for v, a_t in zip(views, a_s)]
        stacked = torch.cat(modulated, dim=1)  # (B, k^2*C, H, W), tap-major
        c_out, c_in, kk = self.weight.shape[:3]
        # (C_out, C_in, k^2) -> (C_out, k^2, C_in) -> (C_out, k^2*C_in, 1, 1): folds to a constant.
        w = self.weight.view(c_out, c_in, kk).transpose(1, 2).reshape(c_out, kk * c_in, 1, 1)
        return F.conv2d(stacked, w, self.bias)  # (B, C_out, H, W)


class HierarchicalPAKA(DualPathModule):
    """HPM: cascaded PAKA levels with growing dilation, fused with the input by a 1x1 conv."""

    def __init__(self, channels: int, branch_channels: int | None = None, dilations: tuple[int, ...] = (1, 2, 4),
                 kernel_size: int = 3, reduction: int = 4, path: Path = "export") -> None:
        super().__init__(path)
        if not dilations:
            raise ValueError("dilations must name at least one level")
        branch = branch_channels or max(channels // 2, 1)
        self.dilations = tuple(dilations)
        levels = []
        cin = channels
        for d in self.dilations:
            levels.append(nn.Sequential(
                PixelAdaptiveKernelAttention(cin, branch, kernel_size, d, reduction, path=path),
                nn.BatchNorm2d(branch), nn.ReLU(inplace=True)))
            cin = branch
        self.levels = nn.ModuleList(levels)
        self.fuse = nn.Sequential(nn.Conv2d(channels + branch * len(levels), channels, 1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        # Both paths share this body; the PAKA levels follow the path chosen by `set_path`.
        feats = [x]
        h = x
        for level in self.levels:
            h = level(h)  # (B, branch, H, W)
            feats.append(h)
        return self.fuse(torch.cat(feats, dim=1))  # (B, C, H, W)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x)

    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x)


@register_attention("paka_hpm", paper="Sagong et al. 2021, arXiv:2107.13144",
                    complexity="O(HW * (k^2 * (C*C_b + (S-1)*C_b^2) + 9*C^2/r + (C + S*C_b) * C))")
def _paka_hpm(channels: int, path: Path = "export") -> HierarchicalPAKA:
    return HierarchicalPAKA(channels, path=path)
