"""Segmentation models: MobileNetV2 (output stride 8) + one attention module + a 1x1 classifier.

Every model here shares the backbone and the head; the attention module is the one difference, so
the models can be compared fairly. Input: RGB float32 in [0, 1], (B, 3, H, W); output: class logits
(B, num_classes, H, W), bilinearly upsampled to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import LatentGraphAttention, NonLocalBlock
from ._registry import register_model
from .backbones import ConvBNAct, ImageNormalize, MobileNetV2

__all__ = ["SegmentationNet"]

HEAD_CHANNELS = 128
CITYSCAPES_CLASSES = 19
DEFAULT_SIZE = (512, 1024)


class SegmentationNet(nn.Module):
    def __init__(self, attention: nn.Module, num_classes: int = CITYSCAPES_CLASSES, head_channels: int = HEAD_CHANNELS,
                 width_mult: float = 1.0) -> None:
        super().__init__()
        self.normalize = ImageNormalize()
        self.backbone = MobileNetV2(width_mult=width_mult, output_stride=8)
        self.reduce = ConvBNAct(self.backbone.out_channels, head_channels, 1)
        self.attention = attention
        self.classifier = nn.Conv2d(head_channels, num_classes, 1)

    def features(self, image: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.backbone(self.normalize(image)))  # (B, head, H/8, W/8)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.classifier(self.attention(self.features(image)))  # (B, K, H/8, W/8)
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)


@register_model(task="segmentation", default_size=DEFAULT_SIZE, min_size=32, output="logits", attention="lga",
                description="MobileNetV2-OS8 + Latent Graph Attention head (Singh et al. 2023), 19 classes")
def lga_mobilenet(*, num_classes: int = CITYSCAPES_CLASSES, depth: int = 4, latent_channels: int = 64,
                  width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2-OS8 + LGA head."""
    return SegmentationNet(LatentGraphAttention(HEAD_CHANNELS, latent_channels, depth=depth), num_classes,
                           width_mult=width_mult)


@register_model(task="segmentation", default_size=DEFAULT_SIZE, min_size=32, output="logits", attention="nonlocal",
                description="MobileNetV2-OS8 + non-local block (Wang et al. 2018): the dense baseline, 19 classes")
def nonlocal_mobilenet(*, num_classes: int = CITYSCAPES_CLASSES, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2-OS8 + non-local head."""
    return SegmentationNet(NonLocalBlock(HEAD_CHANNELS), num_classes, width_mult=width_mult)
