"""Channelized axial attention (CAA).

Paper: Y. Huang, D. Kang, W. Jia, X. He, L. Liu, "Channelized Axial Attention - Considering Channel Relation
within Spatial Attention for Semantic Segmentation", AAAI 2022 (arXiv:2101.07434); reference code
github.com/edwardyehuang/CAA `models/modules/caa_head.py` (`AxialAttentionBlock`, TensorFlow) with
`iseg/utils/attention_utils.py` (`get_axial_attention`).

    v = ReLU(BN(W_v x))                              (C -> C)
    a^col_{w,i,h'} = softmax_h'(q_{i,w} . q_{h',w}),  q = ReLU(BN(W_qv x))   (query = key, C -> G)
    a^row_{h,j,w'} = softmax_w'(p_{h,j} . p_{h,w'}),  p = ReLU(BN(W_qh x))
    column step, for each output row i: T_i = a^col[:, i, :] * v   (the H' x W x C "weighted map"),
        channel attention s_i = sigmoid(MLP_col(GAP_{h',w}(T_i)))   (C-vector, MLP = 5 x (Linear C/4,
        LeakyReLU 0.2) + Linear C), y_{i,w} = sum_h' s_i * T_i[h', w]
    row step on y likewise with a^row and MLP_row; the block returns the row-step result.
The channel re-weighting sits *between* the attention weights and the sum over positions, which is what
"channelized" means. Cost O(HW (H+W) (G + C)).

Export path (what changes vs the reference): the reference materialises the weighted map T_i (H' x W x C
per output row, H of them); but s_i does not depend on h' or w, so it factors out of the sum:
    y_i = s_i * sum_h' a^col_{.,i,h'} v_{h'}   (a plain axial attention, one MatMul)
    GAP(T_i) = mean_w(sum_h' a v) / H         (the mean over W of that same MatMul's result, / H')
so the export path is plain axial attention by MatMul plus an SE-style gate per output row (column step)
and per output column (row step): no H x H x W x C tensor, rank <= 4, channels-last with six Transposes.

Shapes: x (B, C, H, W) -> (B, C, H, W); any H, W >= 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._paths import DualPathModule, Path
from ._pointwise import apply_pointwise
from .registry import register_attention

__all__ = ["ChannelizedAxialAttention", "ChannelAttentionMLP"]

LEAKY_SLOPE = 0.2  # tf.nn.leaky_relu's default, the reference's hidden activation


class ChannelAttentionMLP(nn.Module):
    """sigmoid(Linear(LeakyReLU(Linear(...)))) on a pooled (..., C) vector; no biases, as in the reference."""

    def __init__(self, channels: int, hidden: int, layers: int) -> None:
        super().__init__()
        dims = [channels] + [hidden] * layers
        self.hidden = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:]))
        self.end = nn.Linear(dims[-1], channels, bias=False)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        z = pooled
        for layer in self.hidden:
            z = F.leaky_relu(layer(z), LEAKY_SLOPE)
        return torch.sigmoid(self.end(z))


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ChannelizedAxialAttention(DualPathModule):
    """CAA block: column then row attention, each with channel attention inside the weighted sum."""

    def __init__(self, channels: int, guided_channels: int | None = None, hidden_layers: int = 5,
                 hidden_ratio: float = 0.25, path: Path = "export") -> None:
        super().__init__(path)
        guided = guided_channels or max(channels // 2, 1)
        hidden = max(int(channels * hidden_ratio), 1)
        self.v_querykey = _conv_bn_relu(channels, guided)
        self.h_querykey = _conv_bn_relu(channels, guided)
        self.value = _conv_bn_relu(channels, channels)
        self.v_channel_attention = ChannelAttentionMLP(channels, hidden, hidden_layers)
        self.h_channel_attention = ChannelAttentionMLP(channels, hidden, hidden_layers)

    # -- reference path: materialise each output row's / column's weighted map, as the TF code -------
    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        qv, qh, v = self.v_querykey(x), self.h_querykey(x), self.value(x)
        a_col = torch.softmax(torch.einsum("bchw,bckw->bwhk", qv, qv), dim=-1)  # (B, W, H_i, H')
        a_row = torch.softmax(torch.einsum("bchw,bchk->bhwk", qh, qh), dim=-1)  # (B, H, W_j, W')
        rows = []
        for i in range(x.shape[2]):  # the reference's inference grouping: one output row at a time
            weighted = v * a_col[:, :, i, :].transpose(1, 2)[:, None]  # (B, C, H', W)
            gate = self.v_channel_attention(weighted.mean(dim=(2, 3)))  # (B, C)
            rows.append((weighted * gate[:, :, None, None]).sum(dim=2))  # (B, C, W)
        y = torch.stack(rows, dim=2)  # (B, C, H, W)
        cols = []
        for j in range(x.shape[3]):
            weighted = y * a_row[:, :, j, :][:, None]  # (B, C, H, W')
            gate = self.h_channel_attention(weighted.mean(dim=(2, 3)))  # (B, C)
            cols.append((weighted * gate[:, :, None, None]).sum(dim=3))  # (B, C, H)
        return torch.stack(cols, dim=3)  # (B, C, H, W)

    # -- export path: axial attention by MatMul, gate factored out of the sum ----------------------
    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # BatchNorm is folded with running statistics below
            return self.forward_reference(x)
        h, w = x.shape[2], x.shape[3]
        xt = x.permute(0, 3, 2, 1)  # (B, W, H, C)
        qv = apply_pointwise(xt, self.v_querykey[0], self.v_querykey[1], relu=True)  # (B, W, H, G)
        qh = apply_pointwise(xt, self.h_querykey[0], self.h_querykey[1], relu=True).transpose(1, 2)  # (B, H, W, G)
        v = apply_pointwise(xt, self.value[0], self.value[1], relu=True)  # (B, W, H, C)
        a_col = torch.softmax(torch.matmul(qv, qv.transpose(2, 3)), dim=-1)  # (B, W, H_i, H')
        y = torch.matmul(a_col, v)  # (B, W, H, C)
        y = y * self.v_channel_attention(y.mean(dim=1, keepdim=True) / h)  # gate per output row, (B, 1, H, C)
        y = y.transpose(1, 2)  # (B, H, W, C)
        a_row = torch.softmax(torch.matmul(qh, qh.transpose(2, 3)), dim=-1)  # (B, H, W_j, W')
        z = torch.matmul(a_row, y)  # (B, H, W, C)
        z = z * self.h_channel_attention(z.mean(dim=1, keepdim=True) / w)  # gate per output column, (B, 1, W, C)
        return z.permute(0, 3, 1, 2)  # (B, C, H, W)


@register_attention("channelized_axial", paper="Huang et al. AAAI 2022 (CAA), arXiv:2101.07434",
                    complexity="O(HW (H+W) (G + C))",
                    map_elements=lambda b, h, w: b * h * w * (h + w))  # (B, W, H, H) and (B, H, W, W)
def _channelized_axial(channels: int, path: Path = "export") -> ChannelizedAxialAttention:
    return ChannelizedAxialAttention(channels, path=path)
