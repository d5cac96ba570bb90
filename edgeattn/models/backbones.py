"""MobileNetV2 backbone, written here (no torchvision), with a selectable output stride.

Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, Table 2. For dense
prediction the strides after the requested output stride become dilations (as in DeepLabv3), so
output_stride=8 keeps a 1/8 feature map with 320 channels.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MobileNetV2", "ConvBNAct", "ImageNormalize"]

# t (expansion), c (channels), n (repeats), s (stride) from the paper's Table 2.
_MBV2_SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvBNAct(nn.Sequential):
    def __init__(
        self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1, act: bool = True
    ):
        pad = (k - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, dilation=dilation),
            ConvBNAct(hidden, cout, 1, act=False),
        ]
        self.conv = nn.Sequential(*layers)

    def residual_last_norm(self) -> nn.Module | None:
        """The BN that ends the residual branch (scaled down at init), or None without a residual."""
        return self.conv[-1][1] if self.use_res else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class ImageNormalize(nn.Module):
    """(x - mean) / std with ImageNet statistics, so deployed models take RGB in [0, 1]."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        mean = torch.tensor([0.485, 0.456, 0.406] + [0.5] * (channels - 3))[:channels]
        std = torch.tensor([0.229, 0.224, 0.225] + [0.5] * (channels - 3))[:channels]
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MobileNetV2(nn.Module):
    """Feature extractor: (B, in_channels, H, W) -> (B, out_channels, ceil(H/os), ceil(W/os))."""

    def __init__(self, in_channels: int = 3, width_mult: float = 1.0, output_stride: int = 8) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        self.output_stride = output_stride
        cin = _make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvBNAct(in_channels, cin, 3, stride=2)]
        stride_so_far, dilation = 2, 1
        for t, c, n, s in _MBV2_SETTINGS:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                stride = s if i == 0 else 1
                block_dilation = dilation
                if stride > 1 and stride_so_far * stride > output_stride:
                    dilation *= stride  # later blocks dilate instead of striding
                    stride = 1
                elif stride > 1:
                    stride_so_far *= stride
                layers.append(
                    InvertedResidual(cin, cout, stride, t, dilation=block_dilation if stride > 1 else dilation)
                )
                cin = cout
        self.features = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
