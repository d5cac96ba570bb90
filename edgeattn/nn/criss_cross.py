"""Criss-cross attention (CCNet) with recurrence (RCCA).

Paper: Z. Huang, X. Wang, L. Huang, C. Huang, Y. Wei, W. Liu, "CCNet: Criss-Cross Attention for Semantic
Segmentation", ICCV 2019 (TPAMI 2020), eq. (1)-(2); reference code github.com/speedinghzl/CCNet
(pure-PyTorch `CrissCrossAttention`) and mmcv `ops/cc_attention.py`.

    Q = W_q x, K = W_k x  (C -> C/8),   V = W_v x  (C -> C)
    for pixel u: energies e_{u,i} = Q_u . K_i over the H + W - 1 pixels i in u's column and row (the
    centre counted once: the column energies have their diagonal masked out), A_u = softmax_i(e_u),
    y_u = gamma * sum_i A_{u,i} V_i + x_u
Recurrent criss-cross attention (RCCA) applies this R times (R=2) with shared weights, so every pixel
reaches every other one. Cost per pass O(HW (H+W) C).

Parameters are named `query_conv`, `key_conv`, `value_conv` and `gamma` as in CCNet, so CCNet state dicts
load directly; mmcv's `gamma.scale` (a `Scale` module) is mapped onto `gamma` when loading.

Export path (what changes vs the reference; each choice measured, see docs/perf-export-paths.md):
  * channels-last inside the block: x is transposed once to (B, H, W, C) and back once at the end; the three
    1x1 convs become three MatMuls on the (B, H, W, C) state (one fused Q/K/V MatMul needs a Split/Slice on
    the channel axis, a strided copy that cost ONNX Runtime more than the two extra MatMul nodes).
  * split softmax with a shared maximum instead of one Softmax over Concat(e_col, e_row): the row energies
    stay (B, H, W, W) and the column energies (B, W, H, H), each in the layout its MatMul writes, so the
    (B, H, W, H+W) attention tensor is never concatenated, transposed or sliced. With m = max(row max, column
    max) per pixel, p = exp(e - m) and y = gamma * (p_row V + p_col V) / (sum p_row + sum p_col) + x, which
    is the reference's softmax over the H + W energies, normalised after the aggregation (a (.., C) divide
    instead of a (.., H+W) one).
  * the diagonal mask is finite (-MASK_VALUE), additive and built from the shape with Range/Equal, so it
    follows dynamic H and needs no torch.diag, -inf constant or Gather.
  * MatMul only (no Einsum, slow on ONNX Runtime), every tensor rank <= 4, 8 Transposes per pass, all but
    two of them on (.., C/8) or (.., 1) tensors (ONNX Runtime fuses one more into its MatMul; the reference
    exports with 14 per pass, four of them on the attention tensor).
Shapes: x (B, C, H, W) -> (B, C, H, W); any H, W >= 1; C >= 8.
"""

from __future__ import annotations

import torch
from torch import nn

from ._paths import DualPathModule, Path
from ._pointwise import apply_pointwise
from .registry import register_attention

__all__ = ["CrissCrossAttention", "MASK_VALUE"]

# Added to the masked (centre) column energy. exp(e - 3e4 - max) is exactly 0 in fp32 for any energy
# gap below ~3e4 (exp underflows at -104), so the result equals the reference's -inf mask; 3e4 is still
# finite in fp16 (max 65504), where -inf would risk inf - inf = NaN inside Softmax.
MASK_VALUE = 3.0e4


class CrissCrossAttention(DualPathModule):
    """RCCA: criss-cross attention applied `recurrence` times with shared weights."""

    def __init__(self, channels: int, recurrence: int = 2, reduction: int = 8, path: Path = "export") -> None:
        super().__init__(path)
        if channels // reduction < 1:
            raise ValueError(f"channels ({channels}) must be >= reduction ({reduction})")
        if recurrence < 1:
            raise ValueError(f"recurrence must be >= 1, got {recurrence}")
        self.recurrence = recurrence
        inter = channels // reduction
        self.inter = inter
        self.query_conv = nn.Conv2d(channels, inter, 1)
        self.key_conv = nn.Conv2d(channels, inter, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))  # CCNet: starts as identity, attention is learned in
        self._register_load_state_dict_pre_hook(_accept_mmcv_gamma)

    def custom_op_module(self) -> nn.Module:
        """The module that exports this layer as one `edgeattn::EdgeAttnCrissCross` node per pass (same
        parameters, same state dict); `edgeattn.ops.enable_custom_ops` asks each layer for it."""
        from ..ops.criss_cross import CrissCrossOpAttention

        return CrissCrossOpAttention(self)

    # -- reference path: CCNet's pure-PyTorch formulation, one pass ---------------------------------
    def _cca_reference(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
        # Columns as batches: (B*W, H, C') x (B*W, C', H) -> energies (B*W, H, H)
        q_col = q.permute(0, 3, 1, 2).reshape(b * w, -1, h).transpose(1, 2)
        k_col = k.permute(0, 3, 1, 2).reshape(b * w, -1, h)
        v_col = v.permute(0, 3, 1, 2).reshape(b * w, -1, h)  # (B*W, C, H)
        # Rows as batches: (B*H, W, C') x (B*H, C', W) -> energies (B*H, W, W)
        q_row = q.permute(0, 2, 1, 3).reshape(b * h, -1, w).transpose(1, 2)
        k_row = k.permute(0, 2, 1, 3).reshape(b * h, -1, w)
        v_row = v.permute(0, 2, 1, 3).reshape(b * h, -1, w)  # (B*H, C, W)
        diag = torch.diag(torch.full((h,), float("-inf"), device=x.device, dtype=x.dtype))  # centre once
        e_col = (torch.bmm(q_col, k_col) + diag).view(b, w, h, h).permute(0, 2, 1, 3)  # (B, H, W, H)
        e_row = torch.bmm(q_row, k_row).view(b, h, w, w)  # (B, H, W, W)
        attn = torch.softmax(torch.cat([e_col, e_row], dim=3), dim=3)  # one softmax over H + W
        a_col = attn[..., :h].permute(0, 2, 1, 3).reshape(b * w, h, h)  # (B*W, H, H)
        a_row = attn[..., h:].reshape(b * h, w, w)  # (B*H, W, W)
        out_col = torch.bmm(v_col, a_col.transpose(1, 2)).view(b, w, -1, h).permute(0, 2, 3, 1)  # (B, C, H, W)
        out_row = torch.bmm(v_row, a_row.transpose(1, 2)).view(b, h, -1, w).permute(0, 2, 1, 3)  # (B, C, H, W)
        return self.gamma * (out_col + out_row) + x

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.recurrence):
            x = self._cca_reference(x)
        return x

    # -- export path: channels-last, MatMul, split softmax with a shared max, finite shape-derived mask ------
    def _cca_export(self, y: torch.Tensor, neg_diag: torch.Tensor) -> torch.Tensor:
        q = apply_pointwise(y, self.query_conv)  # (B, H, W, C')
        k = apply_pointwise(y, self.key_conv)  # (B, H, W, C')
        v = apply_pointwise(y, self.value_conv)  # (B, H, W, C)
        e_row = torch.matmul(q, k.transpose(2, 3))  # (B, H, W, C') x (B, H, C', W) -> (B, H, W, W)
        e_col = torch.matmul(q.transpose(1, 2), k.permute(0, 2, 3, 1)) + neg_diag  # (B, W, H, H)
        m = torch.maximum(e_row.amax(3, keepdim=True), e_col.amax(3, keepdim=True).transpose(1, 2))  # (B, H, W, 1)
        p_row = torch.exp(e_row - m)  # (B, H, W, W)
        p_col = torch.exp(e_col - m.transpose(1, 2))  # (B, W, H, H)
        den = p_row.sum(3, keepdim=True) + p_col.sum(3, keepdim=True).transpose(1, 2)  # (B, H, W, 1)
        out_col = torch.matmul(p_col, v.transpose(1, 2)).transpose(1, 2)  # (B, W, H, C) -> (B, H, W, C)
        out = torch.matmul(p_row, v) + out_col  # (B, H, W, C)
        return out * (self.gamma / den) + y

    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2]
        idx = torch.arange(h, device=x.device)
        neg_diag = (idx[:, None] == idx[None, :]).to(x.dtype) * -MASK_VALUE  # (H, H), Range + Equal
        y = x.permute(0, 2, 3, 1)  # (B, H, W, C)
        for _ in range(self.recurrence):
            y = self._cca_export(y, neg_diag)
        return y.permute(0, 3, 1, 2)  # (B, C, H, W)


def _accept_mmcv_gamma(state_dict: dict, prefix: str, *args: object) -> None:
    # mmcv stores gamma in a `Scale` module as a 0-d tensor `gamma.scale`; CCNet as `gamma` of shape (1,).
    key = prefix + "gamma.scale"
    if key in state_dict:
        state_dict[prefix + "gamma"] = state_dict.pop(key).reshape(1)


@register_attention("criss_cross", paper="Huang et al. ICCV 2019 (CCNet), RCCA R=2",
                    complexity="O(R * HW (H+W) * C)")
def _criss_cross(channels: int, path: Path = "export") -> CrissCrossAttention:
    return CrissCrossAttention(channels, recurrence=2, path=path)
