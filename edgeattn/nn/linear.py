"""Linear attention with a first-order Taylor expansion of the softmax kernel.

Paper: R. Li, J. Su, C. Duan, S. Zheng, "Linear Attention Mechanism: An Efficient Attention for Semantic
Segmentation", arXiv:2007.14902 (2020), eq. (9)-(12); reference code
github.com/lironui/Linear-Attention-Mechanism (`PositionLinearAttention`).

exp(q.k) ~ 1 + q.k holds when q and k are l2-normalised (q.k in [-1, 1], so every weight >= 0). With
q_n = Q_n/|Q_n| and k_m = K_m/|K_m| over the channel axis and N = HW pixels:
    out_n = [ sum_m v_m + (sum_m v_m k_m^T) q_n ] / [ N + q_n . (sum_m k_m + eps) ]
    y = x + gamma * out
Computing sum_m v_m k_m^T (C x C_k) first makes the cost O(N C C_k): linear in the number of pixels.
Q, K: 1x1 conv C -> C/8, V: 1x1 conv C -> C; gamma starts at 0 as in the reference.

The reference code names the spatial dims (width, height) = x.shape[2:] and reshapes its result to
(B, C, height, width), which is the transpose: it crashes on any non-square input. Both paths here keep
(H, W) as given. Export path (what changes vs the reference): MatMul instead of Einsum (slow on ONNX
Runtime); products ordered so that only the small (B, C_k, 1) and (B, C_k, N) tensors are transposed
(the reference's `permute(-3, -1, -2)` became a Transpose with negative perm that runtimes reject);
rank <= 3 throughout.

Shapes: x (B, C, H, W) -> (B, C, H, W); any H, W >= 1; C >= 8.
"""

from __future__ import annotations

import torch
from torch import nn

from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["LinearAttention"]


class LinearAttention(DualPathModule):
    """Position linear attention (Li et al. 2020): l2-normalised Q/K, first-order Taylor kernel."""

    def __init__(self, channels: int, reduction: int = 8, eps: float = 1e-6, path: Path = "export") -> None:
        super().__init__(path)
        if channels // reduction < 1:
            raise ValueError(f"channels ({channels}) must be >= reduction ({reduction})")
        self.eps = eps
        self.query_conv = nn.Conv2d(channels, channels // reduction, 1)
        self.key_conv = nn.Conv2d(channels, channels // reduction, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    # -- reference path: the reference code's einsums, with the (H, W) reshape fixed ----------------
    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = h * w
        q = self.query_conv(x).view(b, -1, n)  # (B, Ck, N)
        k = self.key_conv(x).view(b, -1, n)  # (B, Ck, N)
        v = self.value_conv(x).view(b, -1, n)  # (B, C, N)
        q = torch.einsum("bcn,bn->bcn", q, 1 / torch.norm(q, p=2, dim=-2)).permute(0, 2, 1)  # (B, N, Ck)
        k = torch.einsum("bcn,bn->bcn", k, 1 / torch.norm(k, p=2, dim=-2))  # (B, Ck, N)
        tailor_sum = 1 / (n + torch.einsum("bnc,bc->bn", q, torch.sum(k, dim=-1) + self.eps))  # (B, N)
        value_sum = torch.einsum("bcn->bc", v).unsqueeze(-1).expand(-1, c, n)  # (B, C, N)
        matrix = torch.einsum("bmn,bcn->bmc", k, v)  # (B, Ck, C)
        matrix_sum = value_sum + torch.einsum("bnm,bmc->bcn", q, matrix)  # (B, C, N)
        weight_value = torch.einsum("bcn,bn->bcn", matrix_sum, tailor_sum)
        return x + self.gamma * weight_value.view(b, c, h, w)

    # -- export path: MatMul, only small tensors transposed --------------------------------------
    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query_conv(x).flatten(2)  # (B, Ck, N)
        k = self.key_conv(x).flatten(2)  # (B, Ck, N)
        v = self.value_conv(x).flatten(2)  # (B, C, N)
        q = q / torch.sqrt(torch.sum(q * q, dim=1, keepdim=True))  # l2 over channels, (B, Ck, N)
        k = k / torch.sqrt(torch.sum(k * k, dim=1, keepdim=True))
        k_sum = torch.sum(k, dim=2, keepdim=True) + self.eps  # (B, Ck, 1)
        denom = torch.matmul(k_sum.transpose(1, 2), q) + h * w  # (B, 1, Ck) x (B, Ck, N) -> (B, 1, N)
        kv = torch.matmul(v, k.transpose(1, 2))  # (B, C, N) x (B, N, Ck) -> (B, C, Ck)
        num = torch.sum(v, dim=2, keepdim=True) + torch.matmul(kv, q)  # (B, C, 1) + (B, C, N)
        return x + self.gamma * (num / denom).reshape(b, c, h, w)


@register_attention("linear", paper="Li et al. 2020, arXiv:2007.14902 (linear attention)",
                    complexity="O(HW * C * C/8)")
def _linear(channels: int, path: Path = "export") -> LinearAttention:
    return LinearAttention(channels, path=path)
