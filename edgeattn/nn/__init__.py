"""Attention layers, pure torch. Each layer owns a `reference` and an `export` path."""

from ._paths import PATHS, DualPathModule, set_path
from .lga import LatentGraphAttention, lga_edge_loss
from .nonlocal_ import NonLocalBlock

__all__ = ["PATHS", "DualPathModule", "set_path", "LatentGraphAttention", "lga_edge_loss", "NonLocalBlock"]
