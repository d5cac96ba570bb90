"""Helpers shared by the converters: strict weight copy, and small checks that raise `Unsupported`."""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Unsupported

__all__ = ["copy_weights", "require", "conv_shape"]


def copy_weights(old: nn.Module, new: nn.Module) -> nn.Module:
    """Load `old`'s state dict into `new` strictly, on old's device/dtype and in old's train/eval mode."""
    ref = next(iter(old.state_dict().values()), None)
    if isinstance(ref, torch.Tensor):
        new = new.to(device=ref.device, dtype=ref.dtype if ref.is_floating_point() else None)
    new.load_state_dict(old.state_dict(), strict=True)
    return new.train(old.training)


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise Unsupported(reason)


def conv_shape(conv: object, what: str) -> nn.Conv2d:
    """The nn.Conv2d behind `conv` (a Conv2d, or an mmcv ConvModule holding one as `.conv`)."""
    inner = getattr(conv, "conv", conv)
    require(isinstance(inner, nn.Conv2d), f"{what} is {type(conv).__name__}, expected a Conv2d")
    return inner
