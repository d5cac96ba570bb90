"""Position linear attention (Li et al. 2020), as in github.com/lironui/Linear-Attention-Mechanism.

The reference (`PositionLinearAttention`, vendored into lironui's MACU-Net/MAResU-Net/A2-FPN and others; read,
not copied) names the spatial dims `(width, height) = x.shape[2:]` and views its result as (B, C, height,
width), i.e. (B, C, W, H): on a non-square input `x + gamma * out` then raises (H != W, both > 1) or
silently broadcasts to (B, C, W, W) / (B, C, H, H) when H or W is 1. The values before that view are in
row-major (H, W) order, so viewing them as (B, C, H, W) is the intended result; square inputs are unchanged.
"""

from __future__ import annotations

from torch import nn

from ...nn import LinearAttention
from ..registry import register_converter
from ._common import conv_shape, copy_weights, require

__all__ = ["convert_position_linear"]

_KEYS = frozenset({"gamma"} | {f"{c}.{p}" for c in ("query_conv", "key_conv", "value_conv")
                               for p in ("weight", "bias")})


@register_converter(
    "lironui.position_linear", class_paths=(), class_names=("PositionLinearAttention",),
    source="lironui/Linear-Attention-Mechanism Linear-Attention-Mechanism.py (file name not importable: "
    "recognised by class name + parameters)",
    changes="edgeattn LinearAttention: MatMul instead of einsum; no Transpose with a negative perm (the "
    "reference's permute(-3, -1, -2) exports one that ORT and OpenVINO reject); the output is viewed as "
    "(B, C, H, W) instead of the reference's (B, C, W, H), which crashes on non-square inputs or silently "
    "broadcasts when H or W is 1 (square inputs: identical)",
    signatures=(_KEYS,))
def convert_position_linear(old: nn.Module) -> nn.Module:
    q, k, v = (conv_shape(getattr(old, n), n) for n in ("query_conv", "key_conv", "value_conv"))
    c = q.in_channels
    require(q.out_channels == k.out_channels == c // 8 and c // 8 >= 1 and v.out_channels == c,
            "expected query/key C -> C/8 and value C -> C")
    return copy_weights(old, LinearAttention(c, reduction=8, eps=float(getattr(old, "eps", 1e-6)), path="export"))
