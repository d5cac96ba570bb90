"""Registry of attention modules (for module-level tests and benchmarks).

Each entry builds the module at a given channel count, shape-preserving: (B, C, H, W) -> (B, C, H, W).
Filled by `@register_attention` in each layer file; `nn/__init__` imports every layer file explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..errors import unknown

__all__ = ["AttentionSpec", "linear_map", "register_attention", "list_attention", "get_attention", "build_attention"]


def linear_map(b: int, h: int, w: int) -> int:
    """One value per pixel: the growth of modules whose intermediates are linear in the pixel count."""
    return b * h * w


@dataclass(frozen=True)
class AttentionSpec:
    name: str
    factory: Callable[..., nn.Module]  # factory(channels, path=...) -> module
    paper: str
    complexity: str  # e.g. "O(HW k^2 D)"; for reports
    min_size: int = 1  # smallest H and W the module accepts
    # elements of the largest attention map one forward holds at a (B, H, W) feature map (the softmax's input,
    # and its output beside it): what the memory estimate (edgeattn/_resources.py) grows with
    map_elements: Callable[[int, int, int], int] = linear_map


_ATTENTION: dict[str, AttentionSpec] = {}


def register_attention(name: str, *, paper: str, complexity: str, min_size: int = 1,
                       map_elements: Callable[[int, int, int], int] = linear_map):
    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _ATTENTION:
            raise ValueError(f"attention module {name!r} is already registered")
        _ATTENTION[name] = AttentionSpec(name, factory, paper, complexity, min_size, map_elements)
        return factory

    return wrap


def list_attention() -> list[str]:
    return sorted(_ATTENTION)


def get_attention(name: str) -> AttentionSpec:
    try:
        return _ATTENTION[name]
    except KeyError:
        raise unknown("attention module", name, _ATTENTION) from None


def build_attention(name: str, channels: int, path: str = "export") -> nn.Module:
    return get_attention(name).factory(channels, path=path)
