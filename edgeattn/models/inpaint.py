"""Inpainting: a small encoder-decoder with PatchMatch attention (PSAL) at a shallow, high-resolution level.

Cherel et al., "PSAL: Patch-based Stochastic Attention Layer", arXiv 2202.03163, use PatchMatch attention
inside an inpainting network at a resolution where dense attention does not fit: at the 1/4 level of a
512x512 image (128x128 = 16384 positions) a dense attention matrix is 16384^2 fp32 = 1 GiB per image, the
k-NN field of PatchMatch 16384 x 3 entries. Holes are filled from known content as in PSAL's masked layer
(`PSAttentionMasked`, patchmatch_masked.cu): only hole pixels search, and only outside the hole; known
pixels keep themselves as matches.

Inputs: image RGB float32 in [0, 1] (B, 3, H, W) and mask (B, 1, H, W), 1 = hole. Output: the inpainted
image (B, 3, H, W) in [0, 1]; known pixels are passed through unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.patchmatch import PatchMatchAttention
from ._registry import InputSpec, register_model
from .backbones import ConvBNAct, ImageNormalize

__all__ = ["PSALInpaintNet"]


class PSALInpaintNet(nn.Module):
    def __init__(self, width: int = 32, knn: int = 3, patch_size: int = 3, n_iters: int = 5, seed: int = 0,
                 aggregate: bool = True) -> None:
        super().__init__()
        self.normalize = ImageNormalize()
        self.enc1 = ConvBNAct(4, width, 3, stride=2)  # 1/2
        self.enc2 = ConvBNAct(width, 2 * width, 3, stride=2)  # 1/4: attention here
        self.attention = PatchMatchAttention(2 * width, knn=knn, patch_size=patch_size, n_iters=n_iters, seed=seed,
                                             aggregate=aggregate)
        self.dec2 = ConvBNAct(2 * width, width, 3)
        self.dec1 = ConvBNAct(2 * width, width, 3)
        self.head = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = 1 - mask
        x = torch.cat([self.normalize(image) * known, mask], dim=1)  # (B, 4, H, W): holes zeroed
        f1 = self.enc1(x)  # (B, w, ceil(H/2), ceil(W/2))
        f2 = self.enc2(f1)  # (B, 2w, ceil(H/4), ceil(W/4))
        hole = F.max_pool2d(mask, 4, 4, ceil_mode=True)  # (B, 1, ceil(H/4), ceil(W/4)): 1 if any pixel is a hole
        a = self.attention(f2, hole)
        u = F.interpolate(self.dec2(a), size=f1.shape[-2:], mode="nearest")  # (B, w, H/2, W/2)
        d1 = self.dec1(torch.cat([u, f1], dim=1))
        out = torch.sigmoid(self.head(F.interpolate(d1, size=image.shape[-2:], mode="bilinear", align_corners=False)))
        return image * known + out * mask  # known pixels unchanged


@register_model(task="inpainting", default_size=(256, 256), min_size=16, output="inpainted", attention="patchmatch",
                attention_stride=4,
                inputs=(InputSpec("image"), InputSpec("mask", channels=1, kind="mask")),
                description="encoder-decoder + PatchMatch attention (PSAL, Cherel et al. 2022) at 1/4 resolution")
def psal_inpaint(*, width: int = 32, knn: int = 3, patch_size: int = 3, n_iters: int = 5, seed: int = 0,
                 aggregate: bool = True) -> nn.Module:
    """Encoder-decoder inpainting net with PatchMatch attention (static input size: see nn/patchmatch.py)."""
    return PSALInpaintNet(width, knn, patch_size, n_iters, seed, aggregate)
