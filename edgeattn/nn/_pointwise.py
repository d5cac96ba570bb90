"""Channels-last pointwise layers for export paths: a 1x1 conv (+ eval-mode BatchNorm) as one MatMul.

A 1x1 convolution is a matrix product over the channel axis; on a (..., C) tensor it is `x @ W^T + b`.
Eval-mode BatchNorm is an affine map per channel and folds into W and b, so conv+BN(+ReLU) becomes one
MatMul, one Add (and a Relu). The folded weights are computed from parameters only, so the ONNX exporter
turns them into constants. Used by layers that keep their tensors channels-last between attention steps,
which saves the Transposes a (B, C, H, W) <-> (B, H, W, C) round trip per conv would cost.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["folded_pointwise", "apply_pointwise"]


def folded_pointwise(conv: nn.Conv2d, bn: nn.BatchNorm2d | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(W^T, b) of conv (1x1, groups=1) followed by eval-mode `bn`: (C_in, C_out), (C_out,)."""
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError("folded_pointwise needs a 1x1 convolution with groups=1")
    w = conv.weight.flatten(1)  # (C_out, C_in)
    b = conv.bias if conv.bias is not None else w.new_zeros(w.shape[0])
    if bn is not None:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
        w = w * scale[:, None]
        b = (b - bn.running_mean) * scale + bn.bias
    return w.t(), b


def apply_pointwise(x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d | None = None,
                    relu: bool = False) -> torch.Tensor:
    """x (..., C_in) -> (..., C_out): conv 1x1 [+ BN (running statistics)] [+ ReLU], channels-last."""
    w, b = folded_pointwise(conv, bn)
    y = torch.matmul(x, w) + b
    return torch.relu(y) if relu else y
