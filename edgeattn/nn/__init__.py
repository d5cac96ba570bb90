"""Attention layers, pure torch. Each layer owns a `reference` and an `export` path.

Every layer file is imported here explicitly; that fills the attention registry (`nn/registry.py`).
"""

from ._paths import PATHS, DualPathModule, set_path
from .axial import ChannelizedAxialAttention
from .criss_cross import CrissCrossAttention
from .interlaced import InterlacedSparseAttention
from .lga import LatentGraphAttention, lga_edge_loss
from .linear import LinearAttention
from .nonlocal_ import NonLocalBlock
from .paka import HierarchicalPAKA, PixelAdaptiveKernelAttention
from .patchmatch import PatchMatchAttention
from .registry import AttentionSpec, build_attention, get_attention, list_attention, register_attention
from .vista import VistaAttention

__all__ = ["PATHS", "DualPathModule", "set_path", "LatentGraphAttention", "lga_edge_loss", "NonLocalBlock",
           "AttentionSpec", "build_attention", "get_attention", "list_attention", "register_attention",
           "PixelAdaptiveKernelAttention", "HierarchicalPAKA", "VistaAttention",
           "CrissCrossAttention", "InterlacedSparseAttention", "ChannelizedAxialAttention", "LinearAttention",
           "PatchMatchAttention"]
