"""Interlaced sparse self-attention: openseg's `ISA_Block` and mmseg's `ISAHead` (read, not copied).

openseg.pytorch `lib/models/modules/isa_block.py`: `ISA_Block(in, key, value, out, down_factor)` with
`long_range_sa`, `short_range_sa` (`SelfAttentionBlock2D`); `ISA_Module` holds `stages` of ISA_Blocks and a
`conv_bn` fusing [x, context] (plain convs and a concat: it needs no converter; its ISA_Blocks are converted).
mmseg `mmseg/models/decode_heads/isa_head.py`: `ISAHead(isa_channels, down_factor)` with `in_conv`,
`global_relation`, `local_relation` (SelfAttentionBlocks), `out_conv` over [context, residual], then `cls_seg`.

Both regroup pixels with a data-dependent pad (`if pad_h > 0 or pad_w > 0`) and 6-D view/permutes. The
self-attention blocks themselves are MatMul + Softmax and are kept as they are (same children, same state dict);
only the regrouping is replaced: always pad by (d - H mod d) mod d split between both sides (zero when divisible,
so one dynamic graph serves every size), rank-4 reshapes with edgeattn's `to_blocks`/`from_blocks`, crop back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...nn.interlaced import from_blocks, to_blocks
from ..registry import register_converter
from ._common import copy_weights, require

__all__ = ["interlaced_regroup", "ISABlockExport", "ISAHeadExport"]


def interlaced_regroup(x: torch.Tensor, block: tuple[int, int], long_fn: nn.Module, short_fn: nn.Module
                       ) -> torch.Tensor:
    """Long-range attention over interlaced groups, then short-range within blocks, every tensor rank <= 4.

    x (B, C, H, W); long_fn maps (B*P, C, oh, ow) -> (B*P, C', oh, ow), short_fn (B*L, C', dh, dw) -> same,
    with P = dh*dw pixels per block and L = oh*ow blocks. Returns (B, C', H, W).
    """
    b, _, h, w = x.shape
    dh, dw = block
    pad_h, pad_w = (dh - h % dh) % dh, (dw - w % dw) % dw  # shape arithmetic; 0 when divisible
    top, left = pad_h // 2, pad_w // 2
    xl = F.pad(x, (left, pad_w - left, top, pad_h - top)).permute(0, 2, 3, 1)  # (B, Hp, Wp, C)
    hp, wp = h + pad_h, w + pad_w
    oh, ow = hp // dh, wp // dw
    groups = to_blocks(xl, block).transpose(1, 2)  # (B, P, L, C): one interlaced group per p
    c = groups.shape[-1]
    feats = long_fn(groups.reshape(-1, oh, ow, c).permute(0, 3, 1, 2))  # (B*P, C', oh, ow)
    c = feats.shape[1]
    feats = feats.permute(0, 2, 3, 1).reshape(b, dh * dw, oh * ow, c).transpose(1, 2)  # (B, L, P, C')
    feats = short_fn(feats.reshape(-1, dh, dw, c).permute(0, 3, 1, 2))  # (B*L, C', dh, dw)
    feats = feats.permute(0, 2, 3, 1).reshape(b, oh * ow, dh * dw, c)  # (B, L, P, C')
    feats = from_blocks(feats, block, hp, wp)[:, top : top + h, left : left + w]  # (B, H, W, C')
    return feats.permute(0, 3, 1, 2)  # (B, C', H, W)


class ISABlockExport(nn.Module):
    """openseg ISA_Block with the rank-4, always-padded regrouping; same children and state dict."""

    def __init__(self, old: nn.Module) -> None:
        super().__init__()
        self.down_factor = (int(old.down_factor[0]), int(old.down_factor[1]))
        self.out_channels = old.out_channels
        self.long_range_sa, self.short_range_sa = old.long_range_sa, old.short_range_sa

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return interlaced_regroup(x, self.down_factor, self.long_range_sa, self.short_range_sa)


class ISAHeadExport(nn.Module):
    """mmseg ISAHead (inference forward) with the rank-4, always-padded regrouping; same children."""

    def __init__(self, old: nn.Module) -> None:
        super().__init__()
        self.down_factor = (int(old.down_factor[0]), int(old.down_factor[1]))
        self.in_index, self.input_transform = old.in_index, old.input_transform
        self.align_corners = bool(getattr(old, "align_corners", False))
        self.in_conv, self.out_conv = old.in_conv, old.out_conv
        self.global_relation, self.local_relation = old.global_relation, old.local_relation
        self.dropout, self.conv_seg = old.dropout, old.conv_seg

    def _transform_inputs(self, inputs: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            return inputs
        if self.input_transform == "resize_concat":
            feats = [inputs[i] for i in self.in_index]
            size = feats[0].shape[2:]
            feats = [F.interpolate(f, size=size, mode="bilinear", align_corners=self.align_corners) for f in feats]
            return torch.cat(feats, dim=1)
        return inputs[self.in_index]

    def forward(self, inputs: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        x = self.in_conv(self._transform_inputs(inputs))  # (B, C, H, W)
        context = interlaced_regroup(x, self.down_factor, self.global_relation, self.local_relation)
        out = self.out_conv(torch.cat([context, x], dim=1))  # mmseg order: [context, residual]
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv_seg(out)


@register_converter(
    "openseg.isa_block", class_paths=("lib.models.modules.isa_block.ISA_Block",),
    source="openseg-group/openseg.pytorch lib/models/modules/isa_block.py",
    changes="regrouping only: always pads (zero when divisible) instead of `if pad > 0`, rank-4 reshapes + "
    "Transposes instead of 6-D view/permute; the SelfAttentionBlock2D children are kept as they are",
    signatures=(frozenset({"long_range_sa.*", "short_range_sa.*"}),))
def convert_openseg_isa_block(old: nn.Module) -> nn.Module:
    require(len(old.down_factor) == 2, f"down_factor {old.down_factor!r}: expected (dh, dw)")
    return copy_weights(old, ISABlockExport(old))


@register_converter(
    "mmseg.isa_head", class_paths=("mmseg.models.decode_heads.isa_head.ISAHead",),
    source="open-mmlab/mmsegmentation mmseg/models/decode_heads/isa_head.py",
    changes="regrouping only, as for openseg's ISA_Block; in_conv, the two SelfAttentionBlocks, out_conv and "
    "conv_seg are kept; the forward is mmseg's inference forward (input_transform None or resize_concat)",
    signatures=(frozenset({"in_conv.*", "global_relation.*", "local_relation.*", "out_conv.*", "conv_seg.*"}),))
def convert_mmseg_isa_head(old: nn.Module) -> nn.Module:
    require(getattr(old, "input_transform", None) in (None, "resize_concat"),
            f"input_transform {getattr(old, 'input_transform', None)!r}: expected None or 'resize_concat'")
    return copy_weights(old, ISAHeadExport(old))
