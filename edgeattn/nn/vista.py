"""VISTA structured attention: gated multi-dilation messages with joint spatial/channel attention.

Paper: G. Yang, P. Rota, X. Alameda-Pineda, D. Xu, M. Ding, E. Ricci, "Variational Structured Attention
Networks for Deep Visual Representation Learning" (VISTA-Net), IEEE TIP 2021, arXiv:2103.03510.
Reference code: github.com/ygjwd12345/VISTA-Net, `AttentionGatedMSG` in
`depth_prediction/pytorch/encoding/nn/AttentionGraphCondKernel.py` (read for this module; no code copied).

Per dilation d in D (default 1, 4, 8), with a receiving map r (= sr) and a sending map s (= se), both
(B, C, H, W), and U_d(z)[t] the k x k taps of z at dilation d (zero padded):

    K_d   = Conv3x3_d([s, r])              (B, k^2, H, W)   pixel-adaptive message kernel
    E_d   = Conv3x3_d(s),  F_d = Conv3x3_d(r)               kernels of the attention map
    M_d   = sum_t K_d[t] * U_d(s)[t]       (B, C, H, W)     message from the sender's neighbourhood
    A_d   = r * M_d + sum_t E_d[t] U_d(s)[t] + sum_t F_d[t] U_d(r)[t]          attention logits
    S_d   = sum_{n=1..R} sigmoid(sum_c a_n[c] A_d[c]) * a_n * A_d           structured attention
    msg_d = S_d * M_d
    m     = ReLU(W_m [msg_d for d in D] + b_m)                                 combined message
    y     = ReLU(BN(W_f [m, r]))                                            output, (B, C, H, W)

sigmoid(sum_c a_n[c] A_d[c]) is a spatial attention map (B, 1, H, W) and a_n a channel attention vector
(B, C); the two are jointly structured because each is computed from the other (rank R = 3 terms).

Channel vectors a_n: the reference code draws a_n = softmax_c(z_n), z_n ~ N(0, I_C), fresh at every
forward pass, at inference too (so its predictions are random). Here:
- training mode: exactly that sampling, from torch's global RNG (seed it with `torch.manual_seed`);
- inference (eval mode), `policy="expectation"` (default): a_n is replaced by its expectation.
  z_n is exchangeable, so E[softmax(z_n)] = 1/C for every channel, and
      S_d = (R / C) * sigmoid(mean_c A_d) * A_d.
  This is the mean-field (plug-in) expectation: E[a] is exact, sigmoid(E[a]^T A) approximates
  E[sigmoid(a^T A)], which becomes exact as C grows because a^T A concentrates at mean_c A_d (the tests
  measure the gap against a Monte-Carlo average of the sampled attention);
- inference, `policy="bank"`: R fixed vectors a_n drawn once from a seeded generator (`bank_seed`) at
  construction and stored as the buffer `channel_bank` (R, C), the same for every image: one frozen
  realisation of the reference's sampling.
Either policy is deterministic, and the exported graph holds constants only (no Random* node).

Deviations from the reference, and why:
- the reference fuses [messages, features] with 3x3 stride-2 convs for its decoder; this head keeps the
  resolution and fuses with a 1x1 conv + BN + ReLU (shape-preserving, like every edgeattn head);
- the segmentation copy of the reference applies `nn.Softmax(dim=2)` to a (B, C) tensor, which raises;
  the depth-prediction copy uses dim=1 (over channels), which is what is implemented.
- the sender defaults to the receiver (self-messages: the reference's `attention_MSG_55` case), since
  edgeattn heads see one feature map; `forward(r, s)` accepts a separate sender.

Paths: reference follows the reference code (unfold to 5-D, loop over the R terms); export uses shifted
views of a zero-padded map (Pad + static Slice), 4-D tensors, and 1x1 convs / ReduceMean for the channel
contractions. Shapes: (B, C, H, W) -> (B, C, H, W); any H, W >= 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import unknown
from ._neighbors import shifted_views
from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["VistaAttention", "POLICIES"]

POLICIES: tuple[str, ...] = ("expectation", "bank")


def _sample_channel_weights(batch: int, channels: int, rank: int, like: torch.Tensor) -> list[torch.Tensor]:
    """Training-mode channel vectors of the reference: R draws of softmax_c(N(0, I)), each (B, C)."""
    return [torch.softmax(torch.randn(batch, channels, device=like.device, dtype=like.dtype), dim=1)
            for _ in range(rank)]


def _tap_sum(prod: torch.Tensor) -> torch.Tensor:
    """(B, C, k^2, H, W) -> (B, C, H, W): the reference's `.sum(2)`, accumulated in tap order.

    Why not `.sum(2)`: VISTA's messages are products of features and unnormalised predicted kernels, so
    with unit-scale random weights its activations reach ~1e2, where fp32 rounding alone is ~1e-5.
    Summing the taps in the same order as the export path keeps the two paths' comparison about what
    they compute (offsets, dilations, the policy), not about the reduction order torch picks for `.sum`.
    """
    out = prod[:, :, 0]
    for t in range(1, prod.shape[2]):
        out = out + prod[:, :, t]
    return out


class VistaAttention(DualPathModule):
    def __init__(self, channels: int, dilations: tuple[int, ...] = (1, 4, 8), rank: int = 3, kernel_size: int = 3,
                 policy: str = "expectation", bank_seed: int = 0, path: Path = "export") -> None:
        super().__init__(path)
        if policy not in POLICIES:
            raise unknown("VISTA inference policy", policy, POLICIES)
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        if kernel_size % 2 != 1 or not dilations:
            raise ValueError(f"kernel_size must be odd and dilations non-empty, got {kernel_size}, {dilations}")
        k2 = kernel_size**2
        self.channels, self.rank, self.kernel_size, self.policy = channels, rank, kernel_size, policy
        self.dilations = tuple(dilations)
        conv = lambda cin, d: nn.Conv2d(cin, k2, kernel_size, padding=d * (kernel_size // 2), dilation=d)  # noqa: E731
        self.kernel_prediction = nn.ModuleList(conv(2 * channels, d) for d in self.dilations)
        self.kernel_se = nn.ModuleList(conv(channels, d) for d in self.dilations)
        self.kernel_sr = nn.ModuleList(conv(channels, d) for d in self.dilations)
        self.combination_msgs = nn.Sequential(nn.Conv2d(len(self.dilations) * channels, channels, 1),
                                              nn.ReLU(inplace=True))
        self.fuse = nn.Sequential(nn.Conv2d(2 * channels, channels, 1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(inplace=True))
        gen = torch.Generator().manual_seed(bank_seed)
        self.register_buffer("channel_bank", torch.softmax(torch.randn(rank, channels, generator=gen), dim=1))

    def extra_repr(self) -> str:
        return f"path={self.path}, policy={self.policy}, rank={self.rank}, dilations={self.dilations}"

    # -- the structured attention S_d (shared by both paths' callers; each path has its own form) -------
    def structured_attention_reference(self, att: torch.Tensor) -> torch.Tensor:
        """S = sum_n sigmoid(sum_c a_n[c] att[c]) * a_n * att, looped as in the reference. att: (B, C, H, W)."""
        b, c = att.shape[:2]
        if self.training:
            weights = _sample_channel_weights(b, c, self.rank, att)
        elif self.policy == "bank":
            weights = [self.channel_bank[n].expand(b, c) for n in range(self.rank)]
        else:
            weights = [att.new_full((b, c), 1.0 / c)] * self.rank
        out = torch.zeros_like(att)
        for a in weights:
            a = a[:, :, None, None]  # (B, C, 1, 1)
            sp = torch.sigmoid((a * att).sum(1, keepdim=True))  # (B, 1, H, W) spatial map
            out = out + sp * a * att
        return out

    def structured_attention_export(self, att: torch.Tensor) -> torch.Tensor:
        """The same S with 4-D ops: ReduceMean (expectation) or two 1x1 convs with the bank (bank)."""
        if self.training:
            return self.structured_attention_reference(att)  # sampling is a training-time feature
        if self.policy == "expectation":
            # a_n = 1/C for all n: the R terms are equal; sum_c att/C is the channel mean.
            return att * torch.sigmoid(att.mean(dim=1, keepdim=True)) * (self.rank / self.channels)
        bank = self.channel_bank  # (R, C)
        sp = torch.sigmoid(F.conv2d(att, bank[:, :, None, None]))  # (B, R, H, W): one spatial map per n
        return att * F.conv2d(sp, bank.t()[:, :, None, None])  # (B, C, H, W): sum_n sp_n * a_n

    # -- reference path: unfold, 5-D products, as the reference code ---------------------------------
    def forward_reference(self, sr: torch.Tensor, se: torch.Tensor | None = None) -> torch.Tensor:
        se = sr if se is None else se
        b, c, h, w = sr.shape
        k, kk = self.kernel_size, self.kernel_size**2
        pair = torch.cat((se, sr), 1)
        msgs = []
        for d, kp, kse, ksr in zip(self.dilations, self.kernel_prediction, self.kernel_se, self.kernel_sr):
            dyw = kp(pair).view(b, 1, kk, h, w)  # (B, 1, k^2, H, W)
            u_se = F.unfold(se, k, dilation=d, padding=d * (k // 2)).view(b, c, kk, h, w)  # (B, C, k^2, H, W)
            u_sr = F.unfold(sr, k, dilation=d, padding=d * (k // 2)).view(b, c, kk, h, w)
            m = _tap_sum(dyw * u_se)  # (B, C, H, W)
            att = sr * m + _tap_sum(kse(se).unsqueeze(1) * u_se) + _tap_sum(ksr(sr).unsqueeze(1) * u_sr)
            msgs.append(self.structured_attention_reference(att) * m)
        message = self.combination_msgs(torch.cat(msgs, 1))
        return self.fuse(torch.cat((message, sr), 1))

    # -- export path: shifted views, 4-D only ---------------------------------------------------------
    def forward_export(self, sr: torch.Tensor, se: torch.Tensor | None = None) -> torch.Tensor:
        se = sr if se is None else se
        k = self.kernel_size
        pair = torch.cat((se, sr), 1)  # (B, 2C, H, W)
        msgs = []
        for d, kp, kse, ksr in zip(self.dilations, self.kernel_prediction, self.kernel_se, self.kernel_sr):
            # One Split per kernel map instead of k^2 Slices; each piece (B, 1, H, W).
            dyw, e, f = (conv(z).split(1, dim=1) for conv, z in ((kp, pair), (kse, se), (ksr, sr)))
            m = a_se = a_sr = None
            views_se = shifted_views(se, k, d)  # k^2 x (B, C, H, W)
            # Self-messages: one set of views (halves the eager work; ONNX simplifiers merge duplicates anyway).
            views_sr = views_se if se is sr else shifted_views(sr, k, d)
            for t, (v_se, v_sr) in enumerate(zip(views_se, views_sr)):
                m_t, e_t, f_t = v_se * dyw[t], v_se * e[t], v_sr * f[t]
                m = m_t if m is None else m + m_t  # (B, C, H, W)
                a_se = e_t if a_se is None else a_se + e_t
                a_sr = f_t if a_sr is None else a_sr + f_t
            att = sr * m + a_se + a_sr
            msgs.append(self.structured_attention_export(att) * m)
        message = self.combination_msgs(torch.cat(msgs, 1))
        return self.fuse(torch.cat((message, sr), 1))


@register_attention("vista", paper="Yang et al., VISTA-Net, IEEE TIP 2021, arXiv:2103.03510",
                    complexity="O(HW * C * (|D| * (4k^4 + 3k^2 + 2R) + (|D| + 2) * C))")
def _vista(channels: int, path: Path = "export") -> VistaAttention:
    return VistaAttention(channels, path=path)
