"""Attention blocks whose output cannot differ from their input at the weights being checked.

CCNet-style and linear attention add their result through a learned residual scale, `y = gamma * attn(x) + x`,
and `gamma` starts at exactly 0 (the papers' init, so that training starts from the identity). At gamma = 0 every
runtime returns x whatever its attention computes, so a parity check at those weights PASSES without having tested
the attention at all. Export and convert say so in one line instead of passing quietly.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["vacuous_blocks", "vacuous_note"]

# parameter names of a residual scale that multiplies an attention branch (CCNet, linear attention, DANet, mmcv's
# Scale module after the load hook maps `gamma.scale`)
_RESIDUAL_SCALES = ("gamma",)


def vacuous_blocks(model: nn.Module) -> list[str]:
    """Dotted paths of the blocks whose residual scale is exactly zero in every element."""
    found = []
    for path, module in model.named_modules():
        for name in _RESIDUAL_SCALES:
            value = getattr(module, name, None)
            if isinstance(value, torch.Tensor) and value.numel() and not bool(value.detach().ne(0).any()):
                found.append(path or "(model)")
    return found


def vacuous_note(model: nn.Module) -> str | None:
    """One line naming those blocks, or None when there are none."""
    blocks = vacuous_blocks(model)
    if not blocks:
        return None
    shown = ", ".join(blocks[:4]) + (f" and {len(blocks) - 4} more" if len(blocks) > 4 else "")
    return (f"note: gamma = 0 in {shown}: at these weights each block outputs its input unchanged, so the check "
            "proves nothing about its attention (load trained weights, e.g. --checkpoint, to check it)")
