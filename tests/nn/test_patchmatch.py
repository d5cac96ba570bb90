"""PatchMatch attention (PSAL): paths agree exactly, determinism, recall vs exact k-NN, linear memory."""

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from edgeattn.data.synthetic import make_image
from edgeattn.export.audit import audit
from edgeattn.nn import PatchMatchAttention, set_path
from edgeattn.nn.patchmatch import HOLE_COST, exact_knn_attend, patchmatch_attend, patchmatch_knn
from edgeattn.ops.patchmatch import PatchMatchParams, patchmatch_attention_np, patchmatch_tables, search_radii

from ._onnx import export_module


def _qkvc(size, b=2, cm=8, c=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(b, cm, *size, generator=g), torch.randn(b, cm, *size, generator=g)
    return q, k, torch.randn(b, c, *size, generator=g), torch.zeros(b, 1, *size)


def _image_features(size, seed=0):
    """Coherent features (a procedural scene, 3 channels): the regime PatchMatch's propagation relies on."""
    img = torch.from_numpy(make_image(np.random.default_rng(seed), *size))[None]  # (1, 3, H, W)
    return img, img.clone(), torch.zeros(1, 1, *size)


@pytest.mark.parametrize("size", [(9, 13), (7, 4), (1, 5), (11, 3)])
@pytest.mark.parametrize("aggregate", [False, True])
def test_reference_and_export_paths_agree_exactly(size, aggregate):
    q, k, v, cost = _qkvc(size)
    cost[:, :, : size[0] // 2] = HOLE_COST  # a hole: exercises the cost column
    prm = PatchMatchParams(knn=3, n_iters=2, aggregate=aggregate)
    ref = patchmatch_knn(q, k, cost, prm, export=False)
    exp = patchmatch_knn(q, k, cost, prm, export=True)
    for a, b in zip(ref, exp):
        assert torch.equal(a, b)
    out_ref = patchmatch_attend(q, k, v, cost, prm, export=False)
    out_exp = patchmatch_attend(q, k, v, cost, prm, export=True)
    assert torch.equal(out_ref, out_exp)


def test_module_paths_agree_and_share_the_state_dict():
    m = PatchMatchAttention(16, n_iters=2).eval()
    x, mask = torch.randn(1, 16, 9, 11), (torch.rand(1, 1, 9, 11) > 0.7).float()
    with torch.no_grad():
        assert torch.equal(set_path(m, "reference")(x, mask), set_path(m, "export")(x, mask))
    assert set(m.state_dict()) == {f"{n}.{p}" for n in ("query_conv", "key_conv", "value_conv", "proj")
                                   for p in ("weight", "bias")}


def test_knn_lists_are_sorted_distinct_and_consistent():
    q, k, _, cost = _qkvc((10, 12))
    d, y, x = patchmatch_knn(q, k, cost, PatchMatchParams(n_iters=2))
    assert (d[:, 1:] >= d[:, :-1]).all()
    flat = (y * 12 + x).long()  # (B, k, HW)
    assert (flat[:, 0] != flat[:, 1]).all() and (flat[:, 1] != flat[:, 2]).all() and (flat[:, 0] != flat[:, 2]).all()
    assert ((y >= 0) & (y < 10) & (x >= 0) & (x < 12)).all()
    assert (y == y.round()).all() and (x == x.round()).all()


def test_same_seed_same_result_other_seed_differs():
    q, k, v, cost = _qkvc((11, 9))
    a = patchmatch_attend(q, k, v, cost, PatchMatchParams(seed=3, n_iters=1))
    b = patchmatch_attend(q, k, v, cost, PatchMatchParams(seed=3, n_iters=1))
    c = patchmatch_attend(q, k, v, cost, PatchMatchParams(seed=4, n_iters=1))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    t1, t2 = patchmatch_tables(3, 11, 9, 3, 1), patchmatch_tables(4, 11, 9, 3, 1)
    assert not np.array_equal(t1["init"], t2["init"])


def test_numpy_reference_matches_torch():
    q, k, v, cost = _qkvc((9, 10))
    cost[:, :, 2:5, 3:7] = HOLE_COST
    for aggregate in (False, True):
        prm = PatchMatchParams(n_iters=2, aggregate=aggregate)
        want = patchmatch_attend(q, k, v, cost, prm).numpy()
        got = patchmatch_attention_np(q.numpy(), k.numpy(), v.numpy(), cost.numpy(), prm)
        assert np.abs(want - got).max() <= 1e-5


def test_holes_are_filled_from_known_keys():
    q, k, _, _ = _qkvc((12, 12), b=1)
    cost = torch.zeros(1, 1, 12, 12)
    cost[:, :, 3:8, 4:9] = HOLE_COST
    _, y, x = patchmatch_knn(q, k, cost, PatchMatchParams(n_iters=3))
    in_hole = cost.flatten()[(y * 12 + x).long()]
    assert (in_hole == 0).all()


def _recall(size, n_iters, seed=0):
    q, k, cost = _image_features(size, seed)
    prm = PatchMatchParams(n_iters=n_iters)
    _, y, x = patchmatch_knn(q, k, cost, prm)
    _, exact = exact_knn_attend(q, k, torch.zeros(1, 1, *size), cost, prm)  # (1, HW, k)
    found = (y * size[1] + x).long().transpose(1, 2)  # (1, HW, k)
    return (found.unsqueeze(3) == exact.unsqueeze(2)).any(3).float().mean().item()


def test_recall_against_exact_knn_improves_with_iterations():
    recall = [_recall((20, 20), it) for it in (0, 1, 2, 4)]
    assert recall[0] < 0.05  # random init: ~k / HW
    assert all(b >= a - 0.02 for a, b in zip(recall, recall[1:])), recall
    assert recall[-1] > recall[1] and recall[-1] >= 0.6, recall


def test_exact_knn_oracle_attends_to_nearest_patches():
    q, k, v, cost = _qkvc((6, 7), b=1)
    prm = PatchMatchParams(knn=4, patch_size=1)
    out, idx = exact_knn_attend(q, k, v, cost, prm)
    dist = ((q.flatten(2).transpose(1, 2).unsqueeze(2) - k.flatten(2).transpose(1, 2).unsqueeze(1)) ** 2).mean(3)
    assert torch.equal(idx.sort(2).values, dist.topk(4, dim=2, largest=False).indices.sort(2).values)
    assert out.shape == v.shape


class _PeakNumel(TorchDispatchMode):
    """Largest tensor any op produces: the shape-level memory bound (no timing, no allocator noise)."""

    def __init__(self):
        super().__init__()
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.peak = max(self.peak, t.numel())
        return out


def _peak(fn, size):
    q, k, v, cost = _qkvc(size, b=1, cm=8, c=16)
    with _PeakNumel() as mode:
        fn(q, k, v, cost, PatchMatchParams(n_iters=1))
    return mode.peak


def test_memory_is_linear_in_pixels():
    # 8x8 and 15x15 have the same number of random-search radii (8/15 -> 4 halvings) and jump steps, so
    # the per-pixel work is identical and the largest intermediate must grow exactly with the pixel count.
    # (Across sizes with more radii it grows by ((k + radii) / (k + radii'))^2 as well: O(HW (k + log S)^2).)
    small, large = (8, 8), (15, 15)
    ratio = (15 * 15) / (8 * 8)
    pm = [_peak(patchmatch_attend, s) for s in (small, large)]
    dense = [_peak(lambda *a: exact_knn_attend(*a)[0], s) for s in (small, large)]
    assert pm[1] <= 1.05 * ratio * pm[0], pm
    n = large[0] * large[1]
    assert dense[1] >= n * n, dense  # the exact oracle holds an (HW)^2 distance matrix
    m = max(4, len(search_radii(*large)))  # candidates per merge: 4 directions, or one per search radius
    per_pixel = max((3 + m) ** 2, m * (8 * 9 + 1), 3 * 16)  # merge matrix, gathered patches (Cm p^2 + cost), values
    assert pm[1] <= per_pixel * n, (pm, per_pixel)


def test_export_graph_is_static_rank4_and_fits_the_trt_table():
    m = PatchMatchAttention(16, n_iters=1).eval()
    proto = export_module(m, (9, 10), 16, dynamic=False)
    report = audit(proto, "trt")
    assert report.errors == []
    assert {f.rule for f in report.warnings} <= {"hostile"}  # no rank > 4, no inf constants
    assert {f.op for f in report.hostile()} == {"Gather"}  # the data-dependent lookups, and only those
