"""Interlaced sparse self-attention (ISSA / ISA).

Paper: L. Huang, Y. Yuan, J. Guo, C. Zhang, X. Chen, J. Wang, "Interlaced Sparse Self-Attention for
Semantic Segmentation", arXiv:1907.12273 (2019), Sec. 3.2; reference code openseg.pytorch
`lib/models/modules/isa_block.py` (`SelfAttentionBlock2D`, `ISA_Block`, `ISA_Module`).

A dense self-attention over HW pixels is factorised into two sparse ones:
  * long-range: pixels whose coordinates agree modulo the block (Ph, Pw) = (8, 8) form one group
    (an interlaced sub-lattice with stride 8); each group attends within itself, (H/8 * W/8)^2 per group;
  * short-range: each contiguous Ph x Pw block attends within itself, (Ph*Pw)^2 per block.
Each is an embedded-Gaussian self-attention: q, k = two (1x1 conv, BN, ReLU) layers, v = 1x1 conv,
A = softmax(q^T k / sqrt(C_k)), out = W(A v) with W = 1x1 conv, BN, ReLU. As in `ISA_Module`, the block output
is fused with its input: y = ReLU(BN(conv1x1([x, ISA(x)]))). The feature map is zero-padded (split evenly
between both sides) to a multiple of the block and cropped back; padded pixels take part in the attention
exactly as in the reference code. Cost O(HW * (HW/(Ph Pw) + Ph Pw) * C_k).

Export path (what changes vs the reference):
  * always pads (by (8 - H mod 8) mod 8, computed from the shape, zero when divisible): no data-dependent
    branch, so one dynamic graph serves every H x W;
  * channels-last throughout, with the 1x1 convs and eval-mode BatchNorm folded into MatMuls;
  * grouping by rank-4 reshapes plus one Transpose (pixel-unshuffle style) instead of the reference's 6-D
    view/permute: (B, Hp, Wp, C) -> (B*oh, 8, ow, 8C) -> T -> (B, L, 64, C) [short-range layout], one more
    Transpose gives the long-range layout (B, 64, L, C). Every tensor has rank <= 4.
  The export path folds BatchNorm with its running statistics, so it is for inference; in training mode
  it runs the reference computation (batch statistics need the reference's BatchNorm layers).

Shapes: x (B, C, H, W) -> (B, C, H, W); any H, W >= 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._paths import DualPathModule, Path
from ._pointwise import apply_pointwise, folded_pointwise
from .registry import register_attention

__all__ = ["InterlacedSparseAttention", "SelfAttentionBlock2d", "to_blocks", "from_blocks"]


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SelfAttentionBlock2d(nn.Module):
    """openseg `SelfAttentionBlock2D`: dense embedded-Gaussian attention over one group of pixels."""

    def __init__(self, channels: int, key_channels: int, value_channels: int, out_channels: int) -> None:
        super().__init__()
        self.key_channels = key_channels
        self.f_key = nn.Sequential(*_conv_bn_relu(channels, key_channels), *_conv_bn_relu(key_channels, key_channels))
        self.f_query = nn.Sequential(*_conv_bn_relu(channels, key_channels), *_conv_bn_relu(key_channels, key_channels))
        self.f_value = nn.Conv2d(channels, value_channels, 1, bias=False)
        self.W = _conv_bn_relu(value_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reference: x (G, C, h, w), every one of the G groups attends within itself."""
        g, _, h, w = x.shape
        value = self.f_value(x).flatten(2).transpose(1, 2)  # (G, N, Cv)
        query = self.f_query(x).flatten(2).transpose(1, 2)  # (G, N, Ck)
        key = self.f_key(x).flatten(2)  # (G, Ck, N)
        sim = torch.softmax(torch.matmul(query, key) * self.key_channels**-0.5, dim=-1)  # (G, N, N)
        context = torch.matmul(sim, value).transpose(1, 2).reshape(g, -1, h, w)  # (G, Cv, h, w)
        return self.W(context)

    def forward_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """Export: x (B, G, N, C), attention over N within each (b, g); returns (B, G, N, C_out)."""
        fq, fk = self.f_query, self.f_key
        query = apply_pointwise(apply_pointwise(x, fq[0], fq[1], relu=True), fq[3], fq[4], relu=True)  # (B, G, N, Ck)
        key = apply_pointwise(apply_pointwise(x, fk[0], fk[1], relu=True), fk[3], fk[4], relu=True)  # (B, G, N, Ck)
        value = apply_pointwise(x, self.f_value)  # (B, G, N, Cv)
        sim = torch.matmul(query, key.transpose(2, 3)) * self.key_channels**-0.5  # (B, G, N, N)
        context = torch.matmul(torch.softmax(sim, dim=-1), value)  # (B, G, N, Cv)
        return apply_pointwise(context, self.W[0], self.W[1], relu=True)


class InterlacedSparseAttention(DualPathModule):
    """ISA module: long-range then short-range sparse attention, fused with the input by a 1x1 conv."""

    def __init__(self, channels: int, key_channels: int | None = None, value_channels: int | None = None,
                 block: tuple[int, int] = (8, 8), path: Path = "export") -> None:
        super().__init__(path)
        key_channels = key_channels or max(channels // 2, 1)
        value_channels = value_channels or channels
        self.block = (int(block[0]), int(block[1]))
        if min(self.block) < 1:
            raise ValueError(f"block must be positive, got {block}")
        self.long_range_sa = SelfAttentionBlock2d(channels, key_channels, value_channels, channels)
        self.short_range_sa = SelfAttentionBlock2d(channels, key_channels, value_channels, channels)
        self.conv_bn = _conv_bn_relu(2 * channels, channels)

    # -- reference path: openseg ISA_Block (6-D view/permute, pad only when needed) ----------------
    def _isa_reference(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        dh, dw = self.block
        oh, ow = -(-h // dh), -(-w // dw)
        pad_h, pad_w = oh * dh - h, ow * dw - w
        feats = x
        if pad_h > 0 or pad_w > 0:
            feats = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        feats = feats.view(n, c, oh, dh, ow, dw).permute(0, 3, 5, 1, 2, 4).reshape(-1, c, oh, ow)  # long range
        feats = self.long_range_sa(feats)
        c = feats.shape[1]
        feats = feats.view(n, dh, dw, c, oh, ow).permute(0, 4, 5, 3, 1, 2).reshape(-1, c, dh, dw)  # short range
        feats = self.short_range_sa(feats)
        feats = feats.view(n, oh, ow, c, dh, dw).permute(0, 3, 1, 4, 2, 5).reshape(n, c, oh * dh, ow * dw)
        if pad_h > 0 or pad_w > 0:
            feats = feats[:, :, pad_h // 2 : pad_h // 2 + h, pad_w // 2 : pad_w // 2 + w]
        return feats

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_bn(torch.cat([x, self._isa_reference(x)], dim=1))

    # -- export path: always pad, rank-4 grouping, channels-last MatMuls ---------------------------
    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # BatchNorm batch statistics: see the module docstring
            return self.forward_reference(x)
        b, c, h, w = x.shape
        dh, dw = self.block
        pad_h, pad_w = (dh - h % dh) % dh, (dw - w % dw) % dw  # shape arithmetic; 0 when divisible
        top, left = pad_h // 2, pad_w // 2
        xl = x.permute(0, 2, 3, 1)  # (B, H, W, C)
        feats = F.pad(xl, (0, 0, left, pad_w - left, top, pad_h - top))  # (B, Hp, Wp, C)
        hp, wp = h + pad_h, w + pad_w
        short = to_blocks(feats, self.block)  # (B, L, P, C): block l, position p in the block
        long = self.long_range_sa.forward_channels_last(short.transpose(1, 2))  # (B, P, L, C)
        short = self.short_range_sa.forward_channels_last(long.transpose(1, 2))  # (B, L, P, C)
        feats = from_blocks(short, self.block, hp, wp)  # (B, Hp, Wp, C)
        context = feats[:, top : top + h, left : left + w]  # (B, H, W, C): crop the padding
        # conv1x1([x, context]) + BN + ReLU = ReLU(x @ Wx' + context @ Wc' + b'): no Concat needed.
        w_fuse, b_fuse = folded_pointwise(self.conv_bn[0], self.conv_bn[1])  # (2C, C), (C,)
        out = torch.relu(torch.matmul(xl, w_fuse[:c]) + torch.matmul(context, w_fuse[c:]) + b_fuse)
        return out.permute(0, 3, 1, 2)  # (B, C, H, W)


def to_blocks(x: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    """(B, Hp, Wp, C) -> (B, L, P, C): L = (Hp/dh)(Wp/dw) blocks in row-major order, P = dh*dw pixels each.

    Read along L for a fixed p, the same tensor lists one interlaced group (pixels equal modulo the block).
    Rank-4 reshapes and one Transpose (pixel-unshuffle without its 6-D intermediate).
    """
    b, _, wp, c = x.shape
    dh, dw = block
    ow = wp // dw
    x = x.reshape(-1, dh, ow, dw * c).transpose(1, 2)  # (B*oh, ow, dh, dw*C)
    return x.reshape(b, -1, dh * dw, c)  # (B, L, P, C)


def from_blocks(x: torch.Tensor, block: tuple[int, int], hp: int, wp: int) -> torch.Tensor:
    """Inverse of `to_blocks`: (B, L, P, C) -> (B, Hp, Wp, C)."""
    b, _, _, c = x.shape
    dh, dw = block
    x = x.reshape(-1, wp // dw, dh, dw * c).transpose(1, 2)  # (B*oh, dh, ow, dw*C)
    return x.reshape(b, hp, wp, c)


@register_attention("interlaced", paper="Huang et al. 2019, arXiv:1907.12273 (ISSA), block 8x8",
                    complexity="O(HW * (HW/64 + 64) * C_k)",
                    map_elements=lambda b, h, w: b * max((h * w) ** 2 // 64, h * w * 64))  # (G, N, N) per step
def _interlaced(channels: int, path: Path = "export") -> InterlacedSparseAttention:
    return InterlacedSparseAttention(channels, path=path)
