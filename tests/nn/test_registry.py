"""Every registered attention module: shape-preserving, and its two paths agree at odd, non-square sizes."""

import pytest
import torch

from edgeattn.errors import UnknownNameError
from edgeattn.nn import build_attention, get_attention, list_attention, set_path


@pytest.mark.parametrize("name", list_attention())
def test_paths_agree_at_odd_sizes(name):
    spec = get_attention(name)
    h, w = max(spec.min_size, 13), max(spec.min_size, 19)
    m = build_attention(name, 32).eval()
    for p in m.parameters():  # non-trivial values everywhere (gamma-like zeros included)
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 32, h, w)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert ref.shape == x.shape
    assert (ref - exp).abs().max().item() <= 1e-5


def test_unknown_attention():
    with pytest.raises(UnknownNameError, match="Did you mean: lga"):
        get_attention("lgaa")
