"""Reference-style modules written here in the style of the public projects: same class names and parameter
names as the authors' code (which was read, not copied), so the converters can be tested without those
frameworks. Class paths are set where a test needs recognition by path; the rest are "vendored copies".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def at_path(cls: type, module: str) -> type:
    """A subclass of `cls` that claims to live in `module` (what the real framework's class path would be)."""
    return type(cls.__name__, (cls,), {"__module__": module, "__qualname__": cls.__name__})


# -- CCNet (pure PyTorch, master) -----------------------------------------------------------------------
def INF(B, H, W, device):  # noqa: N802, N803 - CCNet's name
    return -torch.diag(torch.tensor(float("inf"), device=device).repeat(H), 0).unsqueeze(0).repeat(B * W, 1, 1)


class CrissCrossAttention(nn.Module):
    def __init__(self, in_dim):
        super().__init__()
        self.query_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.key_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.value_conv = nn.Conv2d(in_dim, in_dim, 1)
        self.softmax = nn.Softmax(dim=3)
        self.INF = INF
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, _, h, w = x.size()
        q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
        q_h = q.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h).permute(0, 2, 1)
        q_w = q.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w).permute(0, 2, 1)
        k_h = k.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h)
        k_w = k.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w)
        v_h = v.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h)
        v_w = v.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w)
        e_h = (torch.bmm(q_h, k_h) + self.INF(b, h, w, x.device)).view(b, w, h, h).permute(0, 2, 1, 3)
        e_w = torch.bmm(q_w, k_w).view(b, h, w, w)
        att = self.softmax(torch.cat([e_h, e_w], 3))
        a_h = att[:, :, :, 0:h].permute(0, 2, 1, 3).contiguous().view(b * w, h, h)
        a_w = att[:, :, :, h : h + w].contiguous().view(b * h, w, w)
        o_h = torch.bmm(v_h, a_h.permute(0, 2, 1)).view(b, w, -1, h).permute(0, 2, 3, 1)
        o_w = torch.bmm(v_w, a_w.permute(0, 2, 1)).view(b, h, -1, w).permute(0, 2, 1, 3)
        return self.gamma * (o_h + o_w) + x


# -- CCNet (CUDA-extension variant: ca_weight / ca_map autograd.Functions; here computed on the CPU) -----------
def _offdiag(h, device):
    return ~torch.eye(h, dtype=torch.bool, device=device)


class CA_Weight(torch.autograd.Function):  # noqa: N801
    """(t, f) -> (B, W + H - 1, H, W): row energies (W of them), then the column energies without the centre."""

    @staticmethod
    def forward(ctx, t, f):
        b, _, h, w = t.shape
        row = torch.einsum("bcyx,bcyz->byxz", t, f)  # (B, H, W, W)
        col = torch.einsum("bcyx,bczx->bxyz", t, f)[:, :, _offdiag(h, t.device)].view(b, w, h, h - 1)
        return torch.cat([row, col.permute(0, 2, 1, 3)], dim=3).permute(0, 3, 1, 2).contiguous()


class CA_Map(torch.autograd.Function):  # noqa: N801
    @staticmethod
    def forward(ctx, weight, g):
        b, _, h, w = g.shape
        a = weight.permute(0, 2, 3, 1)  # (B, H, W, W+H-1)
        out = torch.einsum("byxz,bcyz->bcyx", a[..., :w], g)
        col = a.new_zeros(b, w, h, h)
        col[:, :, _offdiag(h, g.device)] = a[..., w:].permute(0, 2, 1, 3).reshape(b, w, -1)
        return out + torch.einsum("bxyz,bczx->bcyx", col, g)


ca_weight = CA_Weight.apply
ca_map = CA_Map.apply


class CrissCrossAttentionCUDA(nn.Module):
    def __init__(self, in_dim):
        super().__init__()
        self.chanel_in = in_dim
        self.query_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.key_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.value_conv = nn.Conv2d(in_dim, in_dim, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        energy = ca_weight(self.query_conv(x), self.key_conv(x))
        attention = F.softmax(energy, 1)
        return self.gamma * ca_map(attention, self.value_conv(x)) + x


CrissCrossAttentionCUDA.__name__ = CrissCrossAttentionCUDA.__qualname__ = "CrissCrossAttention"


# -- mmcv ------------------------------------------------------------------------------------------------
class Scale(nn.Module):
    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x):
        return x * self.scale


class MMCVCrissCrossAttention(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.query_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.key_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = Scale(0.0)
        self.in_channels = in_channels

    def forward(self, x):
        _, _, h, _ = x.size()
        q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
        neg = torch.diag(torch.tensor(float("-inf"), device=x.device).repeat(h), 0)
        e_h = (torch.einsum("bchw,bciw->bwhi", q, k) + neg).transpose(1, 2)
        e_w = torch.einsum("bchw,bchj->bhwj", q, k)
        attn = F.softmax(torch.cat([e_h, e_w], dim=-1), dim=-1)
        out = torch.einsum("bciw,bhwi->bchw", v, attn[..., :h])
        out += torch.einsum("bchj,bhwj->bchw", v, attn[..., h:])
        return (self.gamma(out) + x).contiguous()


MMCVCrissCrossAttention.__name__ = MMCVCrissCrossAttention.__qualname__ = "CrissCrossAttention"
MMCVCrissCrossAttention.__module__ = "mmcv.ops.cc_attention"


class ConvModule(nn.Module):
    """mmcv-style conv + optional BN + optional ReLU, children named conv / bn / activate."""

    def __init__(self, cin, cout, k=1, padding=0, norm=False, act=True, bias=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=padding, bias=(not norm) if bias is None else bias)
        self.bn = nn.BatchNorm2d(cout) if norm else None
        self.activate = nn.ReLU(inplace=True) if act else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.activate(x) if self.activate is not None else x


class NonLocal2d(nn.Module):
    def __init__(self, in_channels, reduction=2, use_scale=True, mode="embedded_gaussian", norm=True,
                 sub_sample=False):
        super().__init__()
        self.in_channels, self.reduction, self.use_scale = in_channels, reduction, use_scale
        self.inter_channels, self.mode, self.sub_sample = in_channels // reduction, mode, sub_sample
        self.g = ConvModule(in_channels, self.inter_channels, act=False)
        self.conv_out = ConvModule(self.inter_channels, in_channels, norm=norm, act=False)
        if mode != "gaussian":
            self.theta = ConvModule(in_channels, self.inter_channels, act=False)
            self.phi = ConvModule(in_channels, self.inter_channels, act=False)
        if sub_sample:
            self.g = nn.Sequential(self.g, nn.MaxPool2d(2))
            self.phi = nn.Sequential(self.phi, nn.MaxPool2d(2)) if mode != "gaussian" else nn.MaxPool2d(2)

    def embedded_gaussian(self, theta_x, phi_x):
        pw = torch.matmul(theta_x, phi_x)
        if self.use_scale:
            pw /= theta_x.shape[-1] ** 0.5
        return pw.softmax(dim=-1)

    def dot_product(self, theta_x, phi_x):
        pw = torch.matmul(theta_x, phi_x)
        pw /= pw.shape[-1]
        return pw

    def gaussian(self, theta_x, phi_x):
        return torch.matmul(theta_x, phi_x).softmax(dim=-1)

    def forward(self, x):
        n = x.size(0)
        g_x = self.g(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
        if self.mode == "gaussian":
            theta_x = x.view(n, self.in_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(n, self.in_channels, -1) if self.sub_sample else x.view(n, self.in_channels, -1)
        else:
            theta_x = self.theta(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, -1)
        y = torch.matmul(getattr(self, self.mode)(theta_x, phi_x), g_x)
        y = y.permute(0, 2, 1).contiguous().reshape(n, self.inter_channels, *x.size()[2:])
        return x + self.conv_out(y)


NonLocal2d.__module__ = "mmcv.cnn.bricks.non_local"


# -- lironui position linear attention ---------------------------------------------------------------------
def l2_norm(x):
    return torch.einsum("bcn, bn->bcn", x, 1 / torch.norm(x, p=2, dim=-2))


class PositionLinearAttention(nn.Module):
    def __init__(self, in_places, eps=1e-6):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.in_places, self.l2_norm, self.eps = in_places, l2_norm, eps
        self.query_conv = nn.Conv2d(in_places, in_places // 8, 1)
        self.key_conv = nn.Conv2d(in_places, in_places // 8, 1)
        self.value_conv = nn.Conv2d(in_places, in_places, 1)

    def forward(self, x):
        b, c, width, height = x.shape  # the reference's names: really (H, W)
        n = width * height
        q = self.l2_norm(self.query_conv(x).view(b, -1, n)).permute(-3, -1, -2)
        k = self.l2_norm(self.key_conv(x).view(b, -1, n))
        v = self.value_conv(x).view(b, -1, n)
        tailor = 1 / (n + torch.einsum("bnc, bc->bn", q, torch.sum(k, dim=-1) + self.eps))
        vsum = torch.einsum("bcn->bc", v).unsqueeze(-1).expand(-1, c, n)
        matrix = torch.einsum("bmn, bcn->bmc", k, v)  # the file's revision 754d36d (see README on 473d2f5)
        msum = vsum + torch.einsum("bnm, bmc->bcn", q, matrix)
        out = torch.einsum("bcn, bn->bcn", msum, tailor).view(b, c, height, width)  # (B, C, W, H): the bug
        return (x + self.gamma * out).contiguous()


# -- PAKA2d ------------------------------------------------------------------------------------------------
class PAKA2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, r=4, bias=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size**2, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -0.1, 0.1)
        self.conv_c = nn.Sequential(nn.Conv2d(in_channels, in_channels // r, 1), nn.ReLU(True),
                                    nn.Conv2d(in_channels // r, in_channels, 1))
        self.conv_d = nn.Sequential(nn.Conv2d(in_channels, in_channels // r, 3, padding=1), nn.ReLU(True),
                                    nn.Conv2d(in_channels // r, kernel_size**2, 1))
        self.unfold = nn.Unfold(kernel_size, padding=padding, stride=stride, dilation=dilation)

    def forward(self, x):
        b, n, h, w = x.shape
        taps = self.unfold(x).view(b, n, self.kernel_size**2, h // self.stride, w // self.stride)
        mod = 1 + torch.tanh(self.conv_d(x).unsqueeze(1) + self.conv_c(x).unsqueeze(2))
        return F.conv3d(taps * mod, self.weight, self.bias).squeeze(2)


# -- openseg ISA -------------------------------------------------------------------------------------------
def BNReLU(c):  # noqa: N802 - ModuleHelper.BNReLU with bn_type torchbn
    return nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())


class SelfAttentionBlock2D(nn.Module):
    def __init__(self, in_channels, key_channels, value_channels, out_channels=None):
        super().__init__()
        self.in_channels, self.key_channels, self.value_channels = in_channels, key_channels, value_channels
        self.out_channels = out_channels or in_channels
        self.f_key = nn.Sequential(nn.Conv2d(in_channels, key_channels, 1, bias=False), BNReLU(key_channels),
                                   nn.Conv2d(key_channels, key_channels, 1, bias=False), BNReLU(key_channels))
        self.f_query = nn.Sequential(nn.Conv2d(in_channels, key_channels, 1, bias=False), BNReLU(key_channels),
                                     nn.Conv2d(key_channels, key_channels, 1, bias=False), BNReLU(key_channels))
        self.f_value = nn.Conv2d(in_channels, value_channels, 1, bias=False)
        self.W = nn.Sequential(nn.Conv2d(value_channels, self.out_channels, 1, bias=False), BNReLU(self.out_channels))

    def forward(self, x):
        b, h, w = x.size(0), x.size(2), x.size(3)
        value = self.f_value(x).view(b, self.value_channels, -1).permute(0, 2, 1)
        query = self.f_query(x).view(b, self.key_channels, -1).permute(0, 2, 1)
        key = self.f_key(x).view(b, self.key_channels, -1)
        sim = F.softmax((self.key_channels**-0.5) * torch.matmul(query, key), dim=-1)
        context = torch.matmul(sim, value).permute(0, 2, 1).contiguous().view(b, self.value_channels, h, w)
        return self.W(context)


class ISA_Block(nn.Module):  # noqa: N801
    def __init__(self, in_channels, key_channels, value_channels, out_channels, down_factor=(8, 8)):
        super().__init__()
        self.out_channels, self.down_factor = out_channels, down_factor
        self.long_range_sa = SelfAttentionBlock2D(in_channels, key_channels, value_channels, out_channels)
        self.short_range_sa = SelfAttentionBlock2D(out_channels, key_channels, value_channels, out_channels)

    def forward(self, x):
        n, c, h, w = x.size()
        dh, dw = self.down_factor
        oh, ow = math.ceil(h / dh), math.ceil(w / dw)
        pad_h, pad_w = oh * dh - h, ow * dw - w
        feats = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)) if pad_h or pad_w else x
        feats = feats.view(n, c, oh, dh, ow, dw).permute(0, 3, 5, 1, 2, 4).contiguous().view(-1, c, oh, ow)
        feats = self.long_range_sa(feats)
        c = self.out_channels
        feats = feats.view(n, dh, dw, c, oh, ow).permute(0, 4, 5, 3, 1, 2).contiguous().view(-1, c, dh, dw)
        feats = self.short_range_sa(feats)
        feats = feats.view(n, oh, ow, c, dh, dw).permute(0, 3, 1, 4, 2, 5).contiguous().view(n, c, dh * oh, dw * ow)
        if pad_h > 0 or pad_w > 0:
            feats = feats[:, :, pad_h // 2 : pad_h // 2 + h, pad_w // 2 : pad_w // 2 + w]
        return feats


class ISA_Module(nn.Module):  # noqa: N801
    def __init__(self, in_channels, key_channels, value_channels, out_channels, down_factors=((8, 8),)):
        super().__init__()
        self.down_factors = down_factors
        self.stages = nn.ModuleList([ISA_Block(in_channels, key_channels, value_channels, out_channels, d)
                                     for d in down_factors])
        self.conv_bn = nn.Sequential(nn.Conv2d(in_channels + out_channels, out_channels, 1, bias=False),
                                     BNReLU(out_channels), nn.Dropout2d(0.1))

    def forward(self, x):
        return self.conv_bn(torch.cat([x, self.stages[0](x)], dim=1))


# -- mmseg ISAHead -----------------------------------------------------------------------------------------
class SelfAttentionBlock(nn.Module):
    """mmseg isa_head.SelfAttentionBlock (the _SelfAttentionBlock settings ISAHead uses)."""

    def __init__(self, in_channels, channels):
        super().__init__()
        self.channels = channels
        self.key_project = nn.Sequential(ConvModule(in_channels, channels, norm=True),
                                         ConvModule(channels, channels, norm=True))
        self.query_project = nn.Sequential(ConvModule(in_channels, channels, norm=True),
                                           ConvModule(channels, channels, norm=True))
        self.value_project = nn.Conv2d(in_channels, in_channels, 1)
        self.out_project = None
        self.output_project = ConvModule(in_channels, in_channels, norm=True)

    def forward(self, x):
        b = x.size(0)
        query = self.query_project(x).reshape(b, self.channels, -1).permute(0, 2, 1)
        key = self.key_project(x).reshape(b, self.channels, -1)
        value = self.value_project(x).reshape(b, x.size(1), -1).permute(0, 2, 1)
        sim = F.softmax((self.channels**-0.5) * torch.matmul(query, key), dim=-1)
        context = torch.matmul(sim, value).permute(0, 2, 1).contiguous().reshape(b, -1, *x.shape[2:])
        return self.output_project(context)


class ISAHead(nn.Module):
    def __init__(self, in_channels, channels, isa_channels, num_classes, down_factor=(8, 8), in_index=-1):
        super().__init__()
        self.in_channels, self.channels, self.down_factor = in_channels, channels, down_factor
        self.in_index, self.input_transform, self.align_corners = in_index, None, False
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.dropout = nn.Dropout2d(0.1)
        self.in_conv = ConvModule(in_channels, channels, 3, padding=1, norm=True)
        self.global_relation = SelfAttentionBlock(channels, isa_channels)
        self.local_relation = SelfAttentionBlock(channels, isa_channels)
        self.out_conv = ConvModule(channels * 2, channels, norm=True)

    def forward(self, inputs):
        x = self.in_conv(inputs[self.in_index])
        residual = x
        n, c, h, w = x.size()
        lh, lw = self.down_factor
        gh, gw = math.ceil(h / lh), math.ceil(w / lw)
        pad_h, pad_w = gh * lh - h, gw * lw - w
        if pad_h > 0 or pad_w > 0:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        x = x.view(n, c, gh, lh, gw, lw).permute(0, 3, 5, 1, 2, 4).reshape(-1, c, gh, gw)
        x = self.global_relation(x)
        x = x.view(n, lh, lw, c, gh, gw).permute(0, 4, 5, 3, 1, 2).reshape(-1, c, lh, lw)
        x = self.local_relation(x)
        x = x.view(n, gh, gw, c, lh, lw).permute(0, 3, 1, 4, 2, 5).reshape(n, c, gh * lh, gw * lw)
        if pad_h > 0 or pad_w > 0:
            x = x[:, :, pad_h // 2 : pad_h // 2 + h, pad_w // 2 : pad_w // 2 + w]
        x = self.out_conv(torch.cat([x, residual], dim=1))
        return self.conv_seg(self.dropout(x))


# -- VISTA-Net AttentionGatedMSG ---------------------------------------------------------------------------
class AttentionGatedMSG(nn.Module):
    def __init__(self, width=512):
        super().__init__()
        self.ks = 3
        for i, d in zip((1, 2, 3), (1, 4, 8)):
            setattr(self, f"kernel_prediction_{i}", nn.Conv2d(2 * width, 9, 3, dilation=d, padding=d))
            setattr(self, f"kernel_se_{i}", nn.Conv2d(width, 9, 3, dilation=d, padding=d))
            setattr(self, f"kernel_sr_{i}", nn.Conv2d(width, 9, 3, dilation=d, padding=d))
        self.sigmoid, self.softmax = nn.Sigmoid(), nn.Softmax(dim=1)
        self.combination_msgs = nn.Sequential(nn.Conv2d(3 * width, width, 1), nn.ReLU(inplace=True))

    def struc_att(self, att, epoch=100, rank=3):
        bs, c, h, w = att.size()
        if rank == 0:
            return att
        out = torch.zeros_like(att)
        for _ in range(rank):
            ch = self.softmax(torch.randn(bs, c, device=att.device)).unsqueeze(-1).unsqueeze(-1)
            sp = self.sigmoid((ch * att).sum(1, True))
            out = sp * ch * att + out
        return out

    def forward(self, sr, se, epoch=100, rank=3):
        b, c, h, w = se.shape
        pair = torch.cat((se, sr), 1)
        msgs, first = [], None
        for i, d in zip((1, 2, 3), (1, 4, 8)):
            dyw = getattr(self, f"kernel_prediction_{i}")(pair).view(b, 1, 9, h, w)
            kse = getattr(self, f"kernel_se_{i}")(se).unsqueeze(1)
            ksr = getattr(self, f"kernel_sr_{i}")(sr).unsqueeze(1)
            u_se = F.unfold(se, 3, dilation=d, padding=d).view(b, c, 9, h, w)
            u_sr = F.unfold(sr, 3, dilation=d, padding=d).view(b, c, 9, h, w)
            att = self.struc_att(sr * (dyw * u_se).sum(2) + (kse * u_se).sum(2) + (ksr * u_sr).sum(2), epoch, rank)
            first = att if first is None else first
            msgs.append(att * (dyw * u_se).sum(2))
        return self.combination_msgs(torch.cat(msgs, 1)), first
