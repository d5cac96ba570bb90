"""Dehazing models: a compact encoder-decoder with Latent Graph Attention in the bottleneck.

In the spirit of the light baselines that LGA improves in its paper (Singh et al. 2023, arXiv:2307.04149,
which adds LGA to small dehazing networks): a three-level convolutional encoder (1/2, 1/4, 1/8, with
MobileNetV2 inverted residuals), LGA at 1/8 (`lga_dehaze`; `dehaze_base` has the identity there), and a
U-Net-style decoder with skip connections that predicts the clean image as a residual on the hazy input,
J_hat = I + r(I). Haze is a smooth, depth-dependent veil (I = J t + A (1 - t)), so estimating it needs
spatial context wider than a few convolutions: that is what the graph propagation of LGA adds cheaply.

Input: hazy image, RGB float32 in [0, 1], (B, 3, H, W), any H x W >= 32; output: the dehazed image
(B, 3, H, W) (not clipped, so the output stays a smooth function of the input for parity).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import LatentGraphAttention
from ._registry import InputSpec, register_model
from .backbones import ConvBNAct, ImageNormalize, InvertedResidual

__all__ = ["DehazeNet"]

DEFAULT_SIZE = (480, 640)
INPUTS = (InputSpec("image", 3, "hazy"),)
# The residual is predicted in units of 1/10: a freshly He-initialised decoder then starts near the identity
# (output ~ input), as a zero-initialised last layer would (init_weights re-initialises every conv).
RESIDUAL_SCALE = 0.1


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class DehazeNet(nn.Module):
    def __init__(self, bottleneck_attention: nn.Module) -> None:
        super().__init__()
        self.normalize = ImageNormalize()
        self.enc1 = ConvBNAct(3, 16, 3, stride=2)  # 1/2
        self.enc2 = nn.Sequential(ConvBNAct(16, 32, 3, stride=2), InvertedResidual(32, 32, 1, 4))  # 1/4
        self.enc3 = nn.Sequential(ConvBNAct(32, 64, 3, stride=2), InvertedResidual(64, 64, 1, 4),
                                  InvertedResidual(64, 64, 1, 4))  # 1/8
        self.attention = bottleneck_attention
        self.dec3 = ConvBNAct(64 + 32, 32, 3)
        self.dec2 = ConvBNAct(32 + 16, 16, 3)
        self.dec1 = nn.Sequential(ConvBNAct(16 + 3, 16, 3), nn.Conv2d(16, 3, 3, padding=1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.normalize(image)
        e1 = self.enc1(x)  # (B, 16, H/2, W/2)
        e2 = self.enc2(e1)  # (B, 32, H/4, W/4)
        e3 = self.attention(self.enc3(e2))  # (B, 64, H/8, W/8)
        d = self.dec3(torch.cat([_up(e3, e2), e2], dim=1))  # (B, 32, H/4, W/4)
        d = self.dec2(torch.cat([_up(d, e1), e1], dim=1))  # (B, 16, H/2, W/2)
        residual = self.dec1(torch.cat([_up(d, image), x], dim=1))  # (B, 3, H, W)
        return image + RESIDUAL_SCALE * residual


@register_model(task="dehazing", default_size=DEFAULT_SIZE, min_size=32, inputs=INPUTS, output="clean",
                attention="lga",
                description="compact encoder-decoder dehazer, LGA in the 1/8 bottleneck (Singh et al. 2023)")
def lga_dehaze(*, depth: int = 4, latent_channels: int = 32) -> nn.Module:
    """Dehazing encoder-decoder with LGA in the bottleneck."""
    return DehazeNet(LatentGraphAttention(64, latent_channels, depth=depth))


@register_model(task="dehazing", default_size=DEFAULT_SIZE, min_size=32, inputs=INPUTS, output="clean",
                description="compact encoder-decoder dehazer without attention (the baseline of lga_dehaze)")
def dehaze_base() -> nn.Module:
    """Dehazing encoder-decoder, identity in place of LGA."""
    return DehazeNet(nn.Identity())
