"""Optical-flow models: a light PWC-Net-style network with Latent Graph Attention on the context features.

Structure (after PWC-Net, Sun et al., CVPR 2018, and RAFT's fixed-count refinement, Teed & Deng, ECCV 2020,
made small): a shared convolutional pyramid extracts features at 1/4 and 1/8 of both frames; at 1/8 a
correlation over +-3 px (49 displacements) and the context features of frame 1 give a coarse flow; at 1/4
the flow is refined a fixed number of times: frame-2 features are warped by the current flow (GridSample),
correlated with frame-1 features over +-2 px, and a small head predicts a flow update (weights shared across
steps). The 1/4 flow is upsampled bilinearly to the input size and scaled by 4.

`lga_flow` puts Latent Graph Attention (Singh et al. 2023, arXiv:2307.04149; the paper evaluates LGA on
optical flow) on the 1/8 context features, so that the coarse flow of a pixel can draw on pixels of the same
surface D hops away; `flow_base` is the same network with the identity there.

Inputs: frame1, frame2, RGB float32 in [0, 1], (B, 3, H, W); output: flow (B, 2, H, W) in pixels,
channel 0 = horizontal (u), 1 = vertical (v): frame-1 pixel (y, x) moves to (y + v, x + u) in frame 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import LatentGraphAttention
from ..nn.flow_ops import Correlation, warp
from ._registry import InputSpec, register_model
from .backbones import ConvBNAct, ImageNormalize, InvertedResidual

__all__ = ["FlowNet"]

DEFAULT_SIZE = (384, 512)
# Flow heads predict in units of 10 px (PWC-Net likewise regresses flow / 20). With He init, raw head outputs
# have unit scale, which would start the network at ~10-20 px of noise flow; in these units it starts at ~1 px.
FLOW_UNIT = 10.0
INPUTS = (InputSpec("frame1", 3, "frame1"), InputSpec("frame2", 3, "frame2"))


class _Pyramid(nn.Module):
    """(B, 3, H, W) normalised image -> features at 1/4 (32 ch) and 1/8 (64 ch)."""

    def __init__(self) -> None:
        super().__init__()
        self.s2 = nn.Sequential(ConvBNAct(3, 16, 3, stride=2), ConvBNAct(16, 16, 3))
        self.s4 = nn.Sequential(ConvBNAct(16, 32, 3, stride=2), InvertedResidual(32, 32, 1, 4))
        self.s8 = nn.Sequential(ConvBNAct(32, 64, 3, stride=2), InvertedResidual(64, 64, 1, 4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f4 = self.s4(self.s2(x))
        return f4, self.s8(f4)


def _upsample_flow(flow: torch.Tensor, like: torch.Tensor, factor: float) -> torch.Tensor:
    # Flow in pixels grows with the resolution: resize, then scale by the nominal stride ratio.
    return F.interpolate(flow, size=like.shape[-2:], mode="bilinear", align_corners=False) * factor


class FlowNet(nn.Module):
    def __init__(self, context_attention: nn.Module, refine_steps: int = 2) -> None:
        super().__init__()
        if refine_steps < 0:
            raise ValueError(f"refine_steps must be >= 0, got {refine_steps}")
        self.refine_steps = refine_steps
        self.normalize = ImageNormalize()
        self.pyramid = _Pyramid()
        self.context = ConvBNAct(64, 64, 3)
        self.context_attention = context_attention
        self.corr8 = Correlation(3)
        self.coarse = nn.Sequential(ConvBNAct(self.corr8.out_channels + 64, 96, 3), ConvBNAct(96, 64, 3),
                                    nn.Conv2d(64, 2, 3, padding=1))
        self.corr4 = Correlation(2)
        self.refine = nn.Sequential(ConvBNAct(self.corr4.out_channels + 32 + 2, 64, 3), ConvBNAct(64, 32, 3),
                                    nn.Conv2d(32, 2, 3, padding=1))

    def forward(self, frame1: torch.Tensor, frame2: torch.Tensor) -> torch.Tensor:
        a4, a8 = self.pyramid(self.normalize(frame1))  # (B, 32, H/4, W/4), (B, 64, H/8, W/8)
        b4, b8 = self.pyramid(self.normalize(frame2))
        ctx = self.context_attention(self.context(a8))  # (B, 64, H/8, W/8)
        flow = self.coarse(torch.cat([self.corr8(a8, b8), ctx], dim=1)) / FLOW_UNIT  # (B, 2, H/8, W/8), 1/8-scale px
        flow = _upsample_flow(flow, a4, 2.0)  # (B, 2, H/4, W/4)
        for _ in range(self.refine_steps):
            cost = self.corr4(a4, warp(b4, flow))  # (B, 25, H/4, W/4)
            flow = flow + self.refine(torch.cat([cost, a4, flow], dim=1)) / FLOW_UNIT
        return _upsample_flow(flow, frame1, 4.0)  # (B, 2, H, W)


@register_model(task="flow", min_opset=16, default_size=DEFAULT_SIZE, min_size=32, inputs=INPUTS, output="flow",
                attention="lga",
                description="light PWC-style flow net, Latent Graph Attention on 1/8 context (Singh et al. 2023)")
def lga_flow(*, depth: int = 4, latent_channels: int = 32, refine_steps: int = 2) -> nn.Module:
    """Two-frame optical flow with LGA on the context features."""
    return FlowNet(LatentGraphAttention(64, latent_channels, depth=depth), refine_steps=refine_steps)


@register_model(task="flow", min_opset=16, default_size=DEFAULT_SIZE, min_size=32, inputs=INPUTS, output="flow",
                description="light PWC-style flow net without attention (the baseline of lga_flow)")
def flow_base(*, refine_steps: int = 2) -> nn.Module:
    """Two-frame optical flow, identity in place of LGA."""
    return FlowNet(nn.Identity(), refine_steps=refine_steps)
