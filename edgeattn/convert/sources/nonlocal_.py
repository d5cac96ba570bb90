"""mmcv's NonLocal2d (also what mmseg's NLHead uses): `mmcv/cnn/bricks/non_local.py` (read, not copied).

Children `g`, `theta`, `phi` (ConvModules, C -> C/reduction; wrapped with a 2x2 max-pool when `sub_sample`) and
`conv_out` (ConvModule, optional norm); modes embedded_gaussian (scaled by 1/sqrt(C') when `use_scale`),
dot_product (divided by the number of keys) and gaussian (theta = phi = x). mmcv's forward is already MatMul +
Softmax, so the numbers do not change; the replacement keeps the children (same state dict), drops the
in-place divisions on the (HW x HW) attention, and orders the value product so that the attention is never
transposed. The concatenation mode (a ConvModule over repeated pairs) has no converter and is left as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import register_converter
from ._common import copy_weights, require

__all__ = ["NonLocal2dExport", "convert_nonlocal2d"]

_MODES = ("embedded_gaussian", "dot_product", "gaussian")


class NonLocal2dExport(nn.Module):
    """mmcv NonLocal2d (embedded_gaussian / dot_product / gaussian) in MatMul form; same children, same keys."""

    def __init__(self, old: nn.Module) -> None:
        super().__init__()
        self.mode, self.use_scale = old.mode, bool(old.use_scale)
        self.in_channels, self.inter_channels = int(old.in_channels), int(old.inter_channels)
        self.sub_sample = bool(getattr(old, "sub_sample", False))
        self.g, self.conv_out = old.g, old.conv_out
        if self.mode != "gaussian":
            self.theta = old.theta
        if self.mode != "gaussian" or self.sub_sample:
            self.phi = old.phi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        v = self.g(x).flatten(2)  # (B, C', M)
        if self.mode == "gaussian":
            q = x.flatten(2).transpose(1, 2)  # (B, N, C)
            k = self.phi(x).flatten(2) if self.sub_sample else x.flatten(2)  # (B, C, M)
        else:
            q = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, C')
            k = self.phi(x).flatten(2)  # (B, C', M)
        attn = torch.matmul(q, k)  # (B, N, M)
        if self.mode == "embedded_gaussian":
            attn = torch.softmax(attn / q.shape[-1] ** 0.5 if self.use_scale else attn, dim=-1)
        elif self.mode == "gaussian":
            attn = torch.softmax(attn, dim=-1)
        else:
            attn = attn / k.shape[-1]
        y = torch.matmul(v, attn.transpose(1, 2))  # (B, C', M) x (B, M, N) -> (B, C', N)
        return x + self.conv_out(y.reshape(b, self.inter_channels, h, w))


@register_converter(
    "mmcv.nonlocal2d", class_paths=("mmcv.cnn.bricks.non_local.NonLocal2d",),
    source="open-mmlab/mmcv mmcv/cnn/bricks/non_local.py (used by mmseg NLHead)",
    changes="same computation (mmcv's is already MatMul + Softmax): children kept, in-place divisions of the "
    "attention removed, value product ordered so the (HW x HW) attention is not transposed; modes "
    "embedded_gaussian, dot_product, gaussian (concatenation: left as it is)",
    signatures=(frozenset({"g.*", "theta.*", "phi.*", "conv_out.*"}), frozenset({"g.*", "conv_out.*"})))
def convert_nonlocal2d(old: nn.Module) -> nn.Module:
    require(getattr(old, "mode", None) in _MODES, f"mode {getattr(old, 'mode', None)!r}: converters exist for "
            f"{', '.join(_MODES)}")
    return copy_weights(old, NonLocal2dExport(old))
