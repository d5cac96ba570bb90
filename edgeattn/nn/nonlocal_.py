"""Non-local block (embedded Gaussian): the dense baseline every efficient module is measured against.

Paper: X. Wang, R. Girshick, A. Gupta, K. He, "Non-local Neural Networks", CVPR 2018, eq. (1)-(3):
    y_i = 1/C(x) sum_j softmax_j(theta(x_i)^T phi(x_j)) g(x_j),   z = W_z y + x
Cost O((HW)^2 C): quadratic in the number of pixels, which is what LGA, criss-cross and friends avoid.

Shapes: x (B, C, H, W) -> (B, C, H, W).
"""

from __future__ import annotations

import torch
from torch import nn

from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["NonLocalBlock"]


class NonLocalBlock(DualPathModule):
    def __init__(self, channels: int, inter_channels: int | None = None, path: Path = "export") -> None:
        super().__init__(path)
        inter = inter_channels or max(channels // 2, 1)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.g = nn.Conv2d(channels, inter, 1)
        self.out = nn.Sequential(nn.Conv2d(inter, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        q = self.theta(x).flatten(2)  # (B, C', N)
        k = self.phi(x).flatten(2)  # (B, C', N)
        v = self.g(x).flatten(2)  # (B, C', N)
        attn = torch.einsum("bci,bcj->bij", q, k).softmax(dim=-1)  # (B, N, N)
        y = torch.einsum("bij,bcj->bci", attn, v).reshape(b, -1, h, w)  # (B, C', H, W)
        return x + self.out(y)

    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        # MatMul with one transpose per operand; no Einsum (slow on ONNX Runtime).
        b, _, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, C')
        k = self.phi(x).flatten(2)  # (B, C', N)
        v = self.g(x).flatten(2).transpose(1, 2)  # (B, N, C')
        attn = torch.softmax(torch.matmul(q, k), dim=-1)  # (B, N, N)
        y = torch.matmul(attn, v).transpose(1, 2)  # (B, C', N)
        return x + self.out(y.reshape(b, -1, h, w))


@register_attention("nonlocal", paper="Wang et al. CVPR 2018", complexity="O((HW)^2 * C)",
                    map_elements=lambda b, h, w: b * (h * w) ** 2)  # (B, N, N)
def _nonlocal(channels: int, path: Path = "export") -> NonLocalBlock:
    return NonLocalBlock(channels, path=path)
