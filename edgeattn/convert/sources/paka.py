"""PAKA2d (Sagong et al. 2021), the public detectron2-based layer (read, not copied).

Parameters: `weight` (C_out, C_in, k^2, 1, 1), optional `bias`, `conv_c` (1x1 C -> C/r, ReLU, 1x1 -> C) and
`conv_d` (3x3 C -> C/r, ReLU, 1x1 -> k^2); forward = conv3d(unfold(x) * (1 + tanh(A_s + A_c)), weight).
"""

from __future__ import annotations

from torch import nn

from ...nn import PixelAdaptiveKernelAttention
from ..registry import register_converter
from ._common import copy_weights, require

__all__ = ["convert_paka"]


def _keys(bias: bool) -> frozenset[str]:
    keys = {"weight"} | {f"{s}.{i}.{p}" for s in ("conv_c", "conv_d") for i in (0, 2) for p in ("weight", "bias")}
    return frozenset(keys | ({"bias"} if bias else set()))


@register_converter(
    "paka.paka2d", class_paths=(), class_names=("PAKA2d",),
    source="public detectron2-based PAKA2d layer (arXiv:2107.13144); recognised by class name + parameters",
    changes="edgeattn PixelAdaptiveKernelAttention: the k^2 taps as shifted views of a zero-padded map "
    "(Pad + Slice) and one 1x1 Conv instead of nn.Unfold + a 5-D product + Conv3d; stride 1 and 'same' "
    "padding (d * (k // 2)) only",
    signatures=(_keys(False), _keys(True)))
def convert_paka(old: nn.Module) -> nn.Module:
    unfold = getattr(old, "unfold", None)
    require(isinstance(unfold, nn.Unfold), "expected the reference's nn.Unfold as `unfold`")
    k = int(old.kernel_size)
    dil = unfold.dilation if isinstance(unfold.dilation, int) else unfold.dilation[0]
    pad = unfold.padding if isinstance(unfold.padding, int) else unfold.padding[0]
    stride = unfold.stride if isinstance(unfold.stride, int) else unfold.stride[0]
    require(stride == 1, f"stride {stride}: only stride 1 has an export path")
    require(pad == dil * (k // 2), f"padding {pad} with dilation {dil}: only 'same' padding {dil * (k // 2)} is "
            "supported")
    c_out, c_in = old.weight.shape[:2]
    hidden = old.conv_c[0].out_channels
    require(old.conv_d[0].kernel_size == (3, 3) and old.conv_d[0].padding == (1, 1)
            and old.conv_d[0].dilation == (1, 1) and old.conv_d[0].stride == (1, 1),
            "conv_d[0] must be a 3x3 conv with padding 1")
    reduction = next((r for r in range(1, c_in + 1) if c_in // r == hidden), None)
    require(reduction is not None, f"conv_c hidden width {hidden} is not C_in // r for any r")
    new = PixelAdaptiveKernelAttention(c_in, c_out, k, dil, reduction, bias=old.bias is not None, path="export")
    return copy_weights(old, new)
