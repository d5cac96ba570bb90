"""Small whole networks around the reference-style modules (factories for `edgeattn.convert` and the CLI).

Every factory takes no arguments and returns a seeded, eval-mode network with realistic (non-identity)
weights: gamma scales are set non-zero and BatchNorm statistics random, so the attention moves the output.
This file is also loaded by path in the CLI tests (`tests/convert/nets.py:build_ccnet`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

try:
    from . import refmods as R
except ImportError:  # loaded by file path: the folder is on sys.path while it is imported
    import refmods as R  # type: ignore[no-redef]


def _backbone(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
                         nn.Conv2d(16, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))


def _realistic(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
        for name, p in model.named_parameters():
            if name.endswith("gamma") or name.endswith("gamma.scale"):
                p.fill_(0.5)
    return model.eval()


class SegNet(nn.Module):
    """backbone (stride 4) -> head -> 1x1 classifier -> bilinear upsampling to the input size."""

    def __init__(self, head: nn.Module, width: int = 32, classes: int = 5) -> None:
        super().__init__()
        self.backbone = _backbone(width)
        self.head = head
        self.cls = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cls(self.head(self.backbone(x)))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


class RCCAModule(nn.Module):
    """CCNet's head: conva -> cca applied `recurrence` times -> convb -> bottleneck over [x, out]."""

    def __init__(self, cca: nn.Module, channels: int = 32, inter: int = 16, recurrence: int = 2) -> None:
        super().__init__()
        self.recurrence = recurrence
        self.conva = nn.Sequential(nn.Conv2d(channels, inter, 3, padding=1, bias=False), nn.BatchNorm2d(inter))
        self.cca = cca
        self.convb = nn.Sequential(nn.Conv2d(inter, inter, 3, padding=1, bias=False), nn.BatchNorm2d(inter))
        self.bottleneck = nn.Sequential(nn.Conv2d(channels + inter, channels, 3, padding=1, bias=False),
                                        nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conva(x)
        for _ in range(self.recurrence):
            out = self.cca(out)
        return self.bottleneck(torch.cat([x, self.convb(out)], 1))


def _seeded(fn):  # noqa: ANN001, ANN202
    def build() -> nn.Module:
        torch.manual_seed(0)
        return _realistic(fn())
    build.__name__ = fn.__name__
    return build


@_seeded
def build_ccnet() -> nn.Module:
    return SegNet(RCCAModule(R.at_path(R.CrissCrossAttention, "cc_attention.functions")(16)))


@_seeded
def build_ccnet_vendored() -> nn.Module:
    return SegNet(RCCAModule(R.CrissCrossAttention(16)))


@_seeded
def build_ccnet_cuda() -> nn.Module:
    return SegNet(RCCAModule(R.at_path(R.CrissCrossAttentionCUDA, "cc_attention.functions")(16)))


@_seeded
def build_mmcv_ccnet() -> nn.Module:
    return SegNet(RCCAModule(R.MMCVCrissCrossAttention(16)))


@_seeded
def build_linear() -> nn.Module:
    return SegNet(R.PositionLinearAttention(32))


@_seeded
def build_paka() -> nn.Module:
    return SegNet(nn.Sequential(R.PAKA2d(32, 32, 3, padding=2, dilation=2, bias=True), nn.ReLU()))


@_seeded
def build_nonlocal() -> nn.Module:
    return SegNet(nn.Sequential(R.NonLocal2d(32), R.NonLocal2d(32, mode="dot_product", norm=False),
                                R.NonLocal2d(32, mode="gaussian", sub_sample=True)))


@_seeded
def build_openseg_isa() -> nn.Module:
    return SegNet(R.ISA_Module(32, 16, 32, 32, down_factors=((4, 4),)))


class MMSegNet(nn.Module):
    """mmseg EncoderDecoder-like: `backbone` returns a list of maps, `decode_head` is an ISAHead."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.ModuleList([_backbone(32)])
        self.decode_head = R.ISAHead(32, 32, 16, 5, down_factor=(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [stage(x) for stage in self.backbone]
        return F.interpolate(self.decode_head(feats), size=x.shape[2:], mode="bilinear", align_corners=False)


@_seeded
def build_mmseg_isa() -> nn.Module:
    return MMSegNet()


class VistaNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = _backbone(32)
        self.attention_MSG_55 = R.AttentionGatedMSG(width=32)
        self.cls = nn.Conv2d(64, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)
        msg, _ = self.attention_MSG_55(f, f)
        y = self.cls(torch.cat([msg, f], 1))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


@_seeded
def build_vista() -> nn.Module:
    return VistaNet()


def build_raises() -> nn.Module:
    raise ValueError("no such width: 7")


def build_not_a_module() -> int:
    return 3


ALL = {"ccnet": build_ccnet, "ccnet_vendored": build_ccnet_vendored, "ccnet_cuda": build_ccnet_cuda,
       "mmcv_ccnet": build_mmcv_ccnet, "linear": build_linear, "paka": build_paka, "nonlocal": build_nonlocal,
       "openseg_isa": build_openseg_isa, "mmseg_isa": build_mmseg_isa, "vista": build_vista}
