import pytest
import torch

from edgeattn.errors import UnknownNameError
from edgeattn.nn import NonLocalBlock, set_path


@pytest.mark.parametrize("size", [(7, 9), (13, 5)])
def test_reference_and_export_paths_agree(size):
    m = NonLocalBlock(16).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 16, *size)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert (ref - exp).abs().max().item() <= 1e-5


def test_unknown_path_is_rejected_with_suggestion():
    with pytest.raises(UnknownNameError, match="Did you mean: export"):
        NonLocalBlock(8, path="exprot")
