"""Criss-cross attention: CCNet (pure-Python and CUDA-extension variants) and mmcv's CrissCrossAttention.

References (read, not copied): github.com/speedinghzl/CCNet `cc_attention/functions.py` (master: pure PyTorch with
`torch.diag(inf)` built on `.cuda()`; branches pytorch-1.1/1.5: the CUDA extension `ca_weight`/`ca_map`, two
autograd.Functions), and open-mmlab/mmcv `mmcv/ops/cc_attention.py` (einsum with `NEG_INF_DIAG`, gamma as a
`Scale` module). All three compute one criss-cross pass, gamma * attention + x, with `query_conv`/`key_conv`
(C -> C/8) and `value_conv` (C -> C); CCNet's `RCCAModule` applies the module `recurrence` times itself, so the
replacement is edgeattn's `CrissCrossAttention` with recurrence=1 (the caller's loop is kept).
"""

from __future__ import annotations

from torch import nn

from ...nn import CrissCrossAttention
from ..registry import register_converter
from ._common import conv_shape, copy_weights, require

__all__ = ["convert_ccnet", "convert_mmcv_cca"]

_KEYS = {f"{c}.{p}" for c in ("query_conv", "key_conv", "value_conv") for p in ("weight", "bias")}

_CHANGES = ("one pass of edgeattn CrissCrossAttention (recurrence=1): channels-last MatMul instead of {what}; "
            "the centre mask is a finite -3e4 built from the shape instead of torch.diag(-inf) (exactly 0 after "
            "softmax in fp32, no inf in the graph); same function, same weights")


def _build(old: nn.Module) -> CrissCrossAttention:
    q, k, v = (conv_shape(getattr(old, n), n) for n in ("query_conv", "key_conv", "value_conv"))
    c = q.in_channels
    require(all(m.kernel_size == (1, 1) for m in (q, k, v)), "query/key/value convs must be 1x1")
    require(q.out_channels == k.out_channels == c // 8 and c // 8 >= 1 and v.out_channels == c,
            f"channels {c} -> {q.out_channels}/{k.out_channels}/{v.out_channels}: expected C -> C/8, C/8, C")
    return CrissCrossAttention(c, recurrence=1, reduction=8, path="export")


@register_converter(
    "ccnet.criss_cross", class_paths=("cc_attention.functions.CrissCrossAttention",),
    source="speedinghzl/CCNet cc_attention/functions.py (master: pure PyTorch; pytorch-1.x: CUDA ca_weight/ca_map)",
    changes=_CHANGES.format(what="CCNet's bmm/torch.diag (pure) or the CUDA ca_weight/ca_map autograd.Functions, "
                            "which run on no export runtime"),
    signatures=(frozenset(_KEYS | {"gamma"}),))
def convert_ccnet(old: nn.Module) -> nn.Module:
    return copy_weights(old, _build(old))


@register_converter(
    "mmcv.criss_cross", class_paths=("mmcv.ops.cc_attention.CrissCrossAttention",),
    source="open-mmlab/mmcv mmcv/ops/cc_attention.py",
    changes=_CHANGES.format(what="einsum") + "; gamma: mmcv's Scale (`gamma.scale`, 0-d) becomes the parameter "
    "`gamma` of shape (1,) (a load hook maps mmcv keys, so mmcv checkpoints still load)",
    signatures=(frozenset(_KEYS | {"gamma.scale"}),))
def convert_mmcv_cca(old: nn.Module) -> nn.Module:
    return copy_weights(old, _build(old))
