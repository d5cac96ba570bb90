import pytest
import torch

from edgeattn.nn import LatentGraphAttention, lga_edge_loss, set_path
from edgeattn.nn._neighbors import neighbor_offsets, shifted_views


def _both_paths(module, x):
    set_path(module, "reference")
    ref = module(x)
    set_path(module, "export")
    exp = module(x)
    return ref, exp


@pytest.mark.parametrize("size", [(17, 23), (1, 1), (5, 40)])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_reference_and_export_paths_agree(size, kernel_size):
    m = LatentGraphAttention(32, 16, depth=3, kernel_size=kernel_size).eval()
    # Non-trivial BN statistics and edge biases so that every term matters.
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, 32, *size)
    with torch.no_grad():
        ref, exp = _both_paths(m, x)
    assert ref.shape == x.shape
    assert (ref - exp).abs().max().item() <= 1e-5


def test_paths_share_the_state_dict():
    a = LatentGraphAttention(16, 8, path="reference")
    b = LatentGraphAttention(16, 8, path="export")
    assert a.state_dict().keys() == b.state_dict().keys()
    b.load_state_dict(a.state_dict())


def test_shifted_views_match_unfold_order():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    views = shifted_views(x, 3)
    unfold = torch.nn.functional.unfold(x, 3, padding=1).view(2, 3, 9, 4, 5)
    for o, (dy, dx) in enumerate(neighbor_offsets(3)):
        assert torch.equal(views[o], unfold[:, :, o]), (dy, dx)


def test_graph_depth_sets_the_receptive_field():
    # A change at one pixel reaches exactly D hops (Chebyshev distance) after D layers of a 3x3 graph.
    m = LatentGraphAttention(8, 8, depth=2).eval()
    x = torch.zeros(1, 8, 11, 11)
    y0 = m(x)
    x[0, :, 5, 5] = 5.0
    diff = (m(x) - y0).abs().sum(1)[0] > 1e-7
    ys, xs = torch.nonzero(diff, as_tuple=True)
    assert (ys - 5).abs().max() == 2 and (xs - 5).abs().max() == 2


def test_edge_loss_sign_on_constructed_example():
    # Two classes split by a vertical boundary at column 4.
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    k = 3
    # "good" edges: strong inside a class, weak across the boundary; "bad" edges: the opposite.
    nb = torch.nn.functional.unfold(torch.nn.functional.pad(labels[:, None].float(), (1, 1, 1, 1), value=255), k)
    same = (nb.view(1, 9, 8, 8) == labels[:, None].float()).float()
    good = (same * 2 - 1) * 6.0
    bad = -good
    assert lga_edge_loss(good, labels) < 0.01
    assert lga_edge_loss(bad, labels) > 5.0
    # ignore_index pixels do not count
    ignored = labels.clone()
    ignored[:] = 255
    assert lga_edge_loss(bad, ignored).item() == 0.0


def test_edge_loss_gradients_flow_into_the_layer():
    m = LatentGraphAttention(8, 8, depth=2).train()
    x = torch.randn(2, 8, 9, 10)
    labels = torch.randint(0, 3, (2, 36, 40))  # full-resolution labels are resized to the latent grid
    y, edges = m.forward_with_edges(x)
    assert len(edges) == 2 and edges[0].shape == (2, 9, 9, 10)
    loss = lga_edge_loss(edges, labels) + y.square().mean()
    loss.backward()
    grads = [p.grad for p in m.layers[0].edge_pw.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="odd"):
        LatentGraphAttention(8, kernel_size=4)
    with pytest.raises(ValueError, match="depth"):
        LatentGraphAttention(8, depth=0)
