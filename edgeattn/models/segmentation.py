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
from ..nn import ChannelizedAxialAttention, CrissCrossAttention, InterlacedSparseAttention, LinearAttention
from ..nn.paka import HierarchicalPAKA
from ..nn.vista import VistaAttention
from ._registry import register_model
from .backbones import ConvBNAct, ImageNormalize, MobileNetV2

__all__ = ["SegmentationNet"]

HEAD_CHANNELS = 128
CITYSCAPES_CLASSES = 19
DEFAULT_SIZE = (512, 1024)


def register_segmentation(*, attention: str, description: str):
    """`@register_model` with what every segmentation model here shares (task, default size, output name)."""
    return register_model(
        task="segmentation",
        default_size=DEFAULT_SIZE,
        min_size=32,
        output="logits",
        attention=attention,
        description=description,
    )


class SegmentationNet(nn.Module):
    def __init__(
        self,
        attention: nn.Module,
        num_classes: int = CITYSCAPES_CLASSES,
        head_channels: int = HEAD_CHANNELS,
        width_mult: float = 1.0,
    ) -> None:
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

    def forward_with_edges(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Training forward: logits and, when the attention is LGA, its edge logits for `lga_edge_loss` (else [])."""
        if not isinstance(self.attention, LatentGraphAttention):
            return self(image), []
        feats, edges = self.attention.forward_with_edges(self.features(image))  # reference path, same weights
        logits = F.interpolate(self.classifier(feats), size=image.shape[-2:], mode="bilinear", align_corners=False)
        return logits, edges


@register_segmentation(
    attention="lga", description="MobileNetV2-OS8 + Latent Graph Attention head (Singh et al. 2023), 19 classes"
)
def lga_mobilenet(
    *, num_classes: int = CITYSCAPES_CLASSES, depth: int = 4, latent_channels: int = 64, width_mult: float = 1.0
) -> nn.Module:
    """MobileNetV2-OS8 + LGA head."""
    return SegmentationNet(
        LatentGraphAttention(HEAD_CHANNELS, latent_channels, depth=depth), num_classes, width_mult=width_mult
    )


@register_segmentation(
    attention="nonlocal",
    description="MobileNetV2-OS8 + non-local block (Wang et al. 2018): the dense baseline, 19 classes",
)
def nonlocal_mobilenet(*, num_classes: int = CITYSCAPES_CLASSES, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2-OS8 + non-local head."""
    return SegmentationNet(NonLocalBlock(HEAD_CHANNELS), num_classes, width_mult=width_mult)


@register_segmentation(
    attention="paka_hpm", description="MobileNetV2-OS8 + hierarchical PAKA module head (Sagong et al. 2021), 19 classes"
)
def paka_mobilenet(
    *, num_classes: int = CITYSCAPES_CLASSES, dilations: tuple[int, ...] = (1, 2, 4), width_mult: float = 1.0
) -> nn.Module:
    """MobileNetV2-OS8 + HPM head (PAKA levels at dilations 1, 2, 4; no zero-initialised scales)."""
    return SegmentationNet(HierarchicalPAKA(HEAD_CHANNELS, dilations=dilations), num_classes, width_mult=width_mult)


@register_segmentation(
    attention="vista", description="MobileNetV2-OS8 + VISTA structured attention (Yang et al. 2021), 19 classes"
)
def vista_mobilenet(
    *, num_classes: int = CITYSCAPES_CLASSES, policy: str = "expectation", width_mult: float = 1.0
) -> nn.Module:
    """MobileNetV2-OS8 + VISTA head (dilations 1, 4, 8, rank 3; deterministic inference `policy`)."""
    return SegmentationNet(VistaAttention(HEAD_CHANNELS, policy=policy), num_classes, width_mult=width_mult)


# CCNet and the linear-attention paper initialise gamma (the weight of the attention branch) to 0, so a
# block starts as the identity and learns how much attention to mix in. With random weights (no
# checkpoint) that would make the attention a no-op and every parity check would pass without
# exercising it; the builders below therefore start gamma at RANDOM_INIT_GAMMA. A checkpoint overwrites it.
# 0.25 for the reason `models/_init.py` gives for RESIDUAL_GAMMA: with gamma = 1 the two criss-cross passes
# make the attention branch ~4x the size of its input and amplify the backbone's fp32 rounding ~40x
# (PyTorch fp32 vs fp64 on ccnet_mobilenet logits at 256x512: 1.1e-3 at gamma 1, 1.9e-4 at 0.5, 6.4e-5 at
# 0.25, lga_mobilenet 8.6e-5), whereas at 0.25 the branch is still ~0.85x its input (0.3x for linear).
RANDOM_INIT_GAMMA = 0.25


def _with_gamma(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        module.gamma.fill_(RANDOM_INIT_GAMMA)
    return module


@register_segmentation(
    attention="criss_cross",
    description="MobileNetV2-OS8 + recurrent criss-cross attention (CCNet, Huang et al. 2019), 19 classes",
)
def ccnet_mobilenet(
    *, num_classes: int = CITYSCAPES_CLASSES, recurrence: int = 2, width_mult: float = 1.0
) -> nn.Module:
    """MobileNetV2-OS8 + RCCA head (R=2, shared weights; gamma starts at RANDOM_INIT_GAMMA, see above)."""
    attention = _with_gamma(CrissCrossAttention(HEAD_CHANNELS, recurrence=recurrence))
    return SegmentationNet(attention, num_classes, width_mult=width_mult)


@register_segmentation(
    attention="interlaced",
    description="MobileNetV2-OS8 + interlaced sparse self-attention (Huang et al. 2019), 19 classes",
)
def issa_mobilenet(
    *, num_classes: int = CITYSCAPES_CLASSES, block: tuple[int, int] = (8, 8), width_mult: float = 1.0
) -> nn.Module:
    """MobileNetV2-OS8 + ISA head (8x8 blocks; long-range then short-range attention, fused with the input)."""
    return SegmentationNet(InterlacedSparseAttention(HEAD_CHANNELS, block=block), num_classes, width_mult=width_mult)


@register_segmentation(
    attention="channelized_axial",
    description="MobileNetV2-OS8 + channelized axial attention (CAA, Huang et al. 2022), 19 classes",
)
def caa_mobilenet(*, num_classes: int = CITYSCAPES_CLASSES, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2-OS8 + CAA head (column then row attention with channel attention inside the sums)."""
    return SegmentationNet(ChannelizedAxialAttention(HEAD_CHANNELS), num_classes, width_mult=width_mult)


@register_segmentation(
    attention="linear", description="MobileNetV2-OS8 + linear attention (Li et al. 2020), 19 classes"
)
def linear_mobilenet(*, num_classes: int = CITYSCAPES_CLASSES, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2-OS8 + linear-attention head (gamma starts at RANDOM_INIT_GAMMA, see above)."""
    return SegmentationNet(_with_gamma(LinearAttention(HEAD_CHANNELS)), num_classes, width_mult=width_mult)
