"""Export-friendly neighbourhood helpers shared by the attention layers.

A k x k neighbourhood is taken as k*k shifted views of a zero-padded tensor (Pad + static
Slice), which every runtime handles well and which keeps tensors 4-D. Slice bounds are
written relative to both ends, so the exported graph does not depend on H or W and works
with dynamic shapes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["neighbor_offsets", "shifted_views", "valid_mask_views"]


def neighbor_offsets(kernel_size: int) -> list[tuple[int, int]]:
    """(dy, dx) offsets of a k x k window in row-major order, the order `F.unfold` uses."""
    r = kernel_size // 2
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]


def _slice(padded: torch.Tensor, dy: int, dx: int, r: int) -> torch.Tensor:
    # Start at r+dy, stop 2r-(r+dy) elements before the end: static bounds, any H and W.
    y0, x0 = r + dy, r + dx
    y1 = y0 - 2 * r or None  # negative end, or None for "to the end"
    x1 = x0 - 2 * r or None
    return padded[:, :, y0:y1, x0:x1]


def shifted_views(x: torch.Tensor, kernel_size: int, dilation: int = 1) -> list[torch.Tensor]:
    """The k*k neighbours of every pixel: view o holds x[..., y+d*dy_o, x+d*dx_o] (zero outside).

    x: (B, C, H, W) -> list of k*k tensors (B, C, H, W), in `neighbor_offsets` order, the order of
    `F.unfold(x, k, dilation=d, padding=d*(k//2))`.
    """
    r = kernel_size // 2 * dilation
    padded = F.pad(x, (r, r, r, r))  # (B, C, H+2r, W+2r)
    return [_slice(padded, dy * dilation, dx * dilation, r) for dy, dx in neighbor_offsets(kernel_size)]


def valid_mask_views(like: torch.Tensor, kernel_size: int) -> list[torch.Tensor]:
    """For each offset, 1 where the neighbour lies inside the image and 0 where it is padding.

    like: (B, C, H, W) -> list of k*k tensors (B, 1, H, W). Built from a ones map so it follows
    the input's (possibly dynamic) size; with static shapes it constant-folds away.
    """
    ones = torch.ones_like(like[:, :1])  # (B, 1, H, W)
    return shifted_views(ones, kernel_size)
