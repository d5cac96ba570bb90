"""Latent Graph Attention (LGA) and its contrastive edge loss.

Paper: A. Singh, Y. Bhambhu, H. Buckchash, D. K. Gupta, D. K. Prasad, "Latent Graph Attention for
Enhanced Spatial Context", arXiv:2307.04149 (2023); journal version "Latent Graph Attention for Spatial
Context in Light-Weight Networks", Appl. Sci. 14(22):10677 (2024).

What the paper states and this module keeps: the feature map is projected to a latent space; every
latent pixel is a graph node connected to its k x k neighbours (a locally connected graph); learned edge
weights decide how much each neighbour passes on; D stacked graph layers spread information D hops, so the
receptive field is (2D+1)^2 for k=3 and distant pixels are related through the pixels in between; the cost
is linear in the number of nodes; edge weights are computed with (group) convolutions; a contrastive
("divergence") loss strengthens edges inside a class and weakens edges across class boundaries.

The method section could not be read from the sources reachable here, so the exact equations below are
edgeattn's formulation of that description (an assumption, stated as such):

    z^0 = ReLU(BN(W_in x))                                    latent projection, C -> C_l
    for d = 1..D:
        e^d_o   = W_e^d * DW^d(z^{d-1})        (k^2 logits)   edge logits per neighbour offset o,
                                                              a depthwise 3x3 (group) conv then a 1x1 conv
        a^d_o   = sigmoid(e^d_o) * m_o                        m_o = 1 if the neighbour is inside the image
        v^{d}   = W_v^d z^{d-1}                               per-layer 1x1 value transform
        z^d_i   = ReLU( sum_o a^d_{i,o} v^d_{i+o} / (sum_o a^d_{i,o} + eps) )
    y = x + BN(W_out z^D)                                     residual output, C_l -> C

Normalising by the sum of the edge weights makes every layer a convex combination of neighbours (a learned,
anisotropic diffusion), which keeps D stacked layers numerically stable.

Loss (`lga_edge_loss`): for each edge (i, i+o), o != 0, between two labelled pixels inside the image, binary
cross-entropy between sigmoid(e_{i,o}) and [label_i == label_{i+o}]: high weight inside a class, low
across a boundary.

Shapes: x (B, C, H, W) -> y (B, C, H, W); any H, W >= 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._neighbors import shifted_views, valid_mask_views
from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["LatentGraphAttention", "lga_edge_loss"]


class _GraphLayer(nn.Module):
    """Parameters of one graph layer: edge-logit convs and the value transform."""

    def __init__(self, latent: int, kernel_size: int) -> None:
        super().__init__()
        self.edge_dw = nn.Conv2d(latent, latent, 3, padding=1, groups=latent, bias=False)
        self.edge_pw = nn.Conv2d(latent, kernel_size * kernel_size, 1, bias=True)
        self.value = nn.Conv2d(latent, latent, 1, bias=False)

    def edge_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.edge_pw(self.edge_dw(z))  # (B, k*k, H, W)


class LatentGraphAttention(DualPathModule):
    """LGA block: D layers of learned k x k graph propagation in a projected latent space."""

    def __init__(
        self,
        channels: int,
        latent_channels: int | None = None,
        depth: int = 4,
        kernel_size: int = 3,
        eps: float = 1e-6,
        path: Path = "export",
    ) -> None:
        super().__init__(path)
        if kernel_size % 2 != 1 or kernel_size < 3:
            raise ValueError(f"kernel_size must be odd and >= 3, got {kernel_size}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        latent = latent_channels or max(channels // 2, 8)
        self.kernel_size = kernel_size
        self.depth = depth
        self.eps = eps
        self.to_latent = nn.Sequential(
            nn.Conv2d(channels, latent, 1, bias=False), nn.BatchNorm2d(latent), nn.ReLU(inplace=True)
        )
        self.layers = nn.ModuleList(_GraphLayer(latent, kernel_size) for _ in range(depth))
        self.from_latent = nn.Sequential(nn.Conv2d(latent, channels, 1, bias=False), nn.BatchNorm2d(channels))

    # -- reference path: unfold the neighbourhood, as one would write the equations ----------------
    def _propagate_reference(self, layer: _GraphLayer, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = z.shape
        k, r = self.kernel_size, self.kernel_size // 2
        logits = layer.edge_logits(z)  # (B, k*k, H, W)
        v = layer.value(z)
        nbrs = F.unfold(v, k, padding=r).view(b, c, k * k, h, w)  # (B, C_l, k*k, H, W)
        inside = F.unfold(torch.ones_like(z[:, :1]), k, padding=r).view(b, k * k, h, w)
        a = torch.sigmoid(logits) * inside  # (B, k*k, H, W)
        agg = torch.einsum("bckhw,bkhw->bchw", nbrs, a) / (a.sum(1, keepdim=True) + self.eps)
        return torch.relu(agg), logits

    def forward_with_edges(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Reference forward that also returns the D edge-logit maps (B, k*k, H, W) for `lga_edge_loss`."""
        z = self.to_latent(x)
        edges = []
        for layer in self.layers:
            z, logits = self._propagate_reference(layer, z)
            edges.append(logits)
        return x + self.from_latent(z), edges

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_edges(x)[0]

    # -- export path: pad + static slices, 4-D tensors only, no Gather / Einsum -------------------
    # Two exact rewrites of the layer (measured in docs/perf-export-paths.md): the edge weights are masked and
    # normalised first, on the k*k-channel map, instead of dividing the C_l-channel sum afterwards; and the value
    # transform (a bias-free 1x1 conv, so linear) is applied after the aggregation, sum_o a_o W_v z_{i+o} =
    # W_v sum_o a_o z_{i+o}, where the runtimes fuse it with the ReLU. Same MACs, two fewer C_l-channel passes.
    def forward_export(self, x: torch.Tensor) -> torch.Tensor:
        z = self.to_latent(x)  # (B, C_l, H, W)
        k = self.kernel_size
        inside = torch.cat(valid_mask_views(z, k), dim=1)  # (B, k*k, H, W), folds to a constant for static shapes
        for layer in self.layers:
            a = torch.sigmoid(layer.edge_logits(z)) * inside  # (B, k*k, H, W)
            a = a / (a.sum(1, keepdim=True) + self.eps)
            agg = None
            for o, nb in enumerate(shifted_views(z, k)):
                term = nb * a[:, o : o + 1]  # (B, C_l, H, W)
                agg = term if agg is None else agg + term
            z = torch.relu(layer.value(agg))
        return x + self.from_latent(z)


def lga_edge_loss(
    edge_logits: list[torch.Tensor] | torch.Tensor,
    labels: torch.Tensor,
    kernel_size: int = 3,
    ignore_index: int = 255,
) -> torch.Tensor:
    """Contrastive edge loss of LGA: pull same-class edges up, push cross-boundary edges down.

    edge_logits: one (B, k*k, h, w) map or a list of them (one per graph layer), as returned by
    `LatentGraphAttention.forward_with_edges`. labels: (B, H, W) integer class map at any resolution;
    it is resized (nearest) to h x w. Pixels equal to `ignore_index` and neighbours outside the image
    take no part. Returns a scalar (mean over all valid edges of all layers).
    """
    maps = [edge_logits] if isinstance(edge_logits, torch.Tensor) else list(edge_logits)
    b, kk, h, w = maps[0].shape
    if kk != kernel_size * kernel_size:
        raise ValueError(f"edge logits have {kk} channels, expected kernel_size**2 = {kernel_size**2}")
    lab = F.interpolate(labels[:, None].float(), size=(h, w), mode="nearest")  # (B, 1, h, w)
    r = kernel_size // 2
    # Neighbour labels; outside-image neighbours get ignore_index via the padding value.
    nb = F.pad(lab, (r, r, r, r), value=float(ignore_index))
    nb = F.unfold(nb, kernel_size).view(b, kk, h, w)  # (B, k*k, h, w)
    valid = (lab != ignore_index) & (nb != ignore_index)
    valid[:, kk // 2] = False  # the self edge carries no contrast
    target = (nb == lab).float()
    total = maps[0].new_zeros(())
    count = valid.sum().clamp(min=1)
    for logits in maps:
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        total = total + (bce * valid).sum() / count
    return total / len(maps)


@register_attention("lga", paper="Singh et al. 2023, arXiv:2307.04149", complexity="O(HW * k^2 * D * C_l)")
def _lga(channels: int, path: Path = "export") -> LatentGraphAttention:
    return LatentGraphAttention(channels, max(channels // 2, 8), depth=4, path=path)
