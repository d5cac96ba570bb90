"""VISTA-Net's attention-gated message passing, `AttentionGatedMSG` (github.com/ygjwd12345/VISTA-Net,
`depth_prediction/pytorch/encoding/nn/AttentionGraphCondKernel.py`; read, not copied).

Parameters: `kernel_prediction_{1,2,3}` (3x3 convs 2C -> 9 at dilations 1/4/8), `kernel_se_{i}` / `kernel_sr_{i}`
(C -> 9), `combination_msgs` (1x1 conv 3C -> C + ReLU). forward(sr, se, epoch, rank=3) returns
(message, attention_map_1). Its `struc_att` draws the channel weights a_n = softmax_c(z_n), z_n ~ N(0, I) on
`.cuda()`, at every forward pass, inference included: the reference's predictions are random and it cannot run
on a CPU. The replacement is deterministic: a_n is replaced by its expectation E[softmax(z)] = 1/C (z is
exchangeable), so sum_n sigmoid(a_n . A) a_n A = (rank / C) sigmoid(mean_c A) A, edgeattn's `expectation` policy
(docs/attention-zoo.md measures its gap to a Monte-Carlo mean). The module's per-module check therefore compares
the export path with the reference computation under that policy (`forward_reference`), not with one random
draw of the original; the gap to one draw is reported for information.
"""

from __future__ import annotations

import operator
from functools import reduce

import torch
import torch.nn.functional as F
from torch import nn

from ...nn._neighbors import shifted_views
from ..registry import register_converter
from ._common import copy_weights, require

__all__ = ["AttentionGatedMSGExport", "convert_attention_gated_msg"]

_N = (1, 2, 3)


class AttentionGatedMSGExport(nn.Module):
    """AttentionGatedMSG with the expectation policy; same parameter names; returns (message, attention_map_1)."""

    def __init__(self, old: nn.Module) -> None:
        super().__init__()
        self.ks = int(getattr(old, "ks", 3))
        for i in _N:
            for name in ("kernel_prediction", "kernel_se", "kernel_sr"):
                setattr(self, f"{name}_{i}", getattr(old, f"{name}_{i}"))
        self.combination_msgs = old.combination_msgs
        self.dilations = tuple(int(getattr(self, f"kernel_se_{i}").dilation[0]) for i in _N)

    def _struc_att(self, att: torch.Tensor, rank: int) -> torch.Tensor:
        if rank == 0:
            return att
        # E[a_n] = 1/C for each of the rank terms: rank * sigmoid(sum_c att/C) * att / C
        return att * torch.sigmoid(att.mean(dim=1, keepdim=True)) * (rank / att.shape[1])

    def forward_reference(self, sr: torch.Tensor, se: torch.Tensor, epoch: int = 100, rank: int = 3
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference's unfold computation with the expectation policy (deterministic; CPU)."""
        b, c, h, w = se.shape
        k2 = self.ks**2
        pair = torch.cat((se, sr), 1)
        msgs, maps = [], []
        for i, d in zip(_N, self.dilations):
            dyw = getattr(self, f"kernel_prediction_{i}")(pair).view(b, 1, k2, h, w)  # (B, 1, 9, H, W)
            kse = getattr(self, f"kernel_se_{i}")(se).unsqueeze(1)  # (B, 1, 9, H, W)
            ksr = getattr(self, f"kernel_sr_{i}")(sr).unsqueeze(1)
            u_se = F.unfold(se, self.ks, dilation=d, padding=d).view(b, c, k2, h, w)  # (B, C, 9, H, W)
            u_sr = F.unfold(sr, self.ks, dilation=d, padding=d).view(b, c, k2, h, w)
            m = (dyw * u_se).sum(2)
            att = self._struc_att(sr * m + (kse * u_se).sum(2) + (ksr * u_sr).sum(2), rank)
            msgs.append(att * m)
            maps.append(att)
        return self.combination_msgs(torch.cat(msgs, 1)), maps[0]

    def forward(self, sr: torch.Tensor, se: torch.Tensor, epoch: int = 100, rank: int = 3
                ) -> tuple[torch.Tensor, torch.Tensor]:
        pair = torch.cat((se, sr), 1)
        msgs, maps = [], []
        for i, d in zip(_N, self.dilations):
            dyw = getattr(self, f"kernel_prediction_{i}")(pair).split(1, dim=1)  # 9 x (B, 1, H, W)
            kse = getattr(self, f"kernel_se_{i}")(se).split(1, dim=1)
            ksr = getattr(self, f"kernel_sr_{i}")(sr).split(1, dim=1)
            v_se, v_sr = shifted_views(se, self.ks, d), shifted_views(sr, self.ks, d)  # 9 x (B, C, H, W)
            m = reduce(operator.add, (v * t for v, t in zip(v_se, dyw)))  # (B, C, H, W)
            a = reduce(operator.add, [v * t for v, t in zip(v_se, kse)] + [v * t for v, t in zip(v_sr, ksr)])
            att = self._struc_att(sr * m + a, rank)
            msgs.append(att * m)
            maps.append(att)
        return self.combination_msgs(torch.cat(msgs, 1)), maps[0]


def _keys() -> frozenset[str]:
    convs = {f"{n}_{i}.{p}" for n in ("kernel_prediction", "kernel_se", "kernel_sr") for i in _N
             for p in ("weight", "bias")}
    return frozenset(convs | {"combination_msgs.0.weight", "combination_msgs.0.bias"})


@register_converter(
    "vista.attention_gated_msg", class_paths=("encoding.nn.AttentionGraphCondKernel.AttentionGatedMSG",),
    source="ygjwd12345/VISTA-Net depth_prediction/pytorch/encoding/nn/AttentionGraphCondKernel.py",
    changes="deterministic at inference: the random channel weights softmax(randn) drawn on .cuda() at every "
    "forward are replaced by their expectation 1/C (S = rank/C * sigmoid(mean_c A) * A); unfold + 5-D products "
    "become shifted views (Pad + Slice) and 4-D Mul/Add; checked against the reference computation under that "
    "policy", signatures=(_keys(),), stochastic=True)
def convert_attention_gated_msg(old: nn.Module) -> nn.Module:
    for i in _N:
        conv = getattr(old, f"kernel_se_{i}")
        require(conv.kernel_size == (3, 3) and conv.padding == conv.dilation, f"kernel_se_{i}: expected a 3x3 "
                "conv with padding = dilation")
    return copy_weights(old, AttentionGatedMSGExport(old))
