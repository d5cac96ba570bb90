"""PatchMatch attention (PSAL): edgeattn equals a numpy transcription of PSAL (tests/psal_np.py) on the exact
field and on the kernel's search schedule; paths agree bit for bit; determinism; recall; linear memory."""

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from edgeattn.bench.patchmatch import knn_recall
from edgeattn.data.synthetic import make_image
from edgeattn.export.audit import audit
from edgeattn.nn import PatchMatchAttention, set_path
from edgeattn.nn.patchmatch import exact_knn_attend, exact_knn_field, patchmatch_attend, patchmatch_knn, psal_output
from edgeattn.ops.patchmatch import PatchMatchParams, patchmatch_attention_np, patchmatch_tables, search_radii
from edgeattn.parity import tolerance_for
from tests.psal_np import psal_attention

from ._onnx import export_module

FP32 = tolerance_for("fp32", "torch").max_abs  # fp32 against the float64 transcription: summation order only


def _qkvm(size, b=2, cm=4, c=5, seed=0, hole=0.4):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(b, cm, *size, generator=g), torch.randn(b, cm, *size, generator=g)
    v = torch.randn(b, c, *size, generator=g)
    return q, k, v, (torch.rand(b, 1, *size, generator=g) < hole).float()


def _same_sets(field, psal_fields, n):
    """Per pixel, edgeattn's k matches equal PSAL's as sets (the kernel's heap order is not part of the output)."""
    _, y, x = (t.numpy() for t in field)
    for bi, (_, shift) in enumerate(psal_fields):
        kk = shift.shape[1]
        ours = np.stack([y[bi], x[bi]], axis=-1)  # (k, HW, 2)
        theirs = shift.reshape(2, kk, n).transpose(1, 2, 0)
        for i in range(n):
            assert sorted(map(tuple, ours[:, i].tolist())) == sorted(map(tuple, theirs[:, i].tolist())), (bi, i)


def _np(t):
    return None if t is None else t.numpy()


@pytest.mark.parametrize("size,p", [((7, 9), 3), ((9, 6), 5)])
@pytest.mark.parametrize("aggregate", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_exact_field_output_equals_psal_transcription(size, p, aggregate, masked):
    q, k, v, mask = _qkvm(size)
    mask = mask if masked else None
    prm = PatchMatchParams(patch_size=p, aggregate=aggregate, temperature=8.0, seed=3)
    want, fields = psal_attention(q.numpy(), k.numpy(), v.numpy(), _np(mask), 3, p, 0, 8.0, aggregate, 3, exact=True)
    field = exact_knn_field(q, k, mask, prm)  # edgeattn's oracle
    _same_sets(field, fields, size[0] * size[1])
    d_want = np.stack([np.sort(c.reshape(3, -1), axis=0) for c, _ in fields])
    assert np.allclose(np.sort(field[0].numpy(), axis=1), d_want, rtol=1e-5, atol=1e-4)  # summed, not averaged
    ref, exp = psal_output(v, field, prm, export=False), psal_output(v, field, prm, export=True)
    assert torch.equal(ref, exp)
    assert np.abs(ref.numpy() - want).max() <= FP32
    assert np.abs(exact_knn_attend(q, k, v, mask, prm).numpy() - want).max() <= FP32


@pytest.mark.parametrize("size,p,n_iters", [((7, 9), 3, 2), ((11, 6), 3, 1), ((9, 10), 5, 2)])
@pytest.mark.parametrize("masked", [False, True])
def test_patchmatch_follows_the_kernel_schedule(size, p, n_iters, masked):
    """Same tables, kernel-style per-pixel search (accept rule, order 1,2,4,8, radii >= 2): same field."""
    q, k, v, mask = _qkvm(size, seed=1)
    mask = mask if masked else None
    prm = PatchMatchParams(patch_size=p, n_iters=n_iters, aggregate=True, temperature=8.0)
    want, fields = psal_attention(q.numpy(), k.numpy(), v.numpy(), _np(mask), 3, p, n_iters, 8.0, True, 0)
    _same_sets(patchmatch_knn(q, k, mask, prm), fields, size[0] * size[1])
    assert np.abs(patchmatch_attend(q, k, v, mask, prm).numpy() - want).max() <= FP32


def test_search_schedule_is_the_kernels():
    assert search_radii(8, 8) == [8, 4, 2] and search_radii(7, 5) == [7, 3] and search_radii(3, 3) == [3]
    assert search_radii(64, 20) == [64, 32, 16, 8, 4, 2]  # never below 2 (patchmatch.cu:309-313)
    t = patchmatch_tables(0, 12, 10, 3, 4, 3)
    s = t["search"]  # (n_iters, radii, 2, H, W): offsets in [-r, r-1]
    for z, r in enumerate(search_radii(12, 10)):
        assert s[:, z].min() == -r and s[:, z].max() == r - 1
    init = t["init"]  # draws inside the band [1, H-2] x [1, W-2]
    assert init[:, 0].min() == 1 and init[:, 0].max() == 10 and init[:, 1].min() == 1 and init[:, 1].max() == 8


@pytest.mark.parametrize("size", [(9, 13), (7, 4), (3, 5), (11, 3)])
@pytest.mark.parametrize("aggregate", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_reference_and_export_paths_agree_exactly(size, aggregate, masked):
    q, k, v, mask = _qkvm(size)
    mask = mask if masked else None
    prm = PatchMatchParams(knn=3, n_iters=2, aggregate=aggregate)
    for a, b in zip(patchmatch_knn(q, k, mask, prm, export=False), patchmatch_knn(q, k, mask, prm, export=True)):
        assert torch.equal(a, b)
    assert torch.equal(patchmatch_attend(q, k, v, mask, prm, export=False),
                       patchmatch_attend(q, k, v, mask, prm, export=True))


def test_module_paths_agree_and_share_the_state_dict():
    m = PatchMatchAttention(16, n_iters=2, aggregate=True).eval()
    x, mask = torch.randn(2, 16, 9, 11), (torch.rand(2, 1, 9, 11) > 0.7).float()
    with torch.no_grad():
        for msk in (None, mask):
            assert torch.equal(set_path(m, "reference")(x, msk), set_path(m, "export")(x, msk))
    assert set(m.state_dict()) == {f"{n}.{p}" for n in ("query_conv", "key_conv", "value_conv", "proj")
                                   for p in ("weight", "bias")}


def test_maps_smaller_than_the_patch_are_refused_with_a_message():
    with pytest.raises(ValueError, match="at least 3x3"):
        PatchMatchAttention(8)(torch.randn(1, 8, 2, 9))


def test_fields_follow_the_border_band():
    q, k, _, _ = _qkvm((10, 12))
    d, y, x = patchmatch_knn(q, k, None, PatchMatchParams(n_iters=2))
    inner = torch.zeros(10, 12, dtype=torch.bool)
    inner[1:9, 1:11] = True
    inner = inner.flatten()
    assert ((y >= 1) & (y <= 8) & (x >= 1) & (x <= 10)).all()  # every match lies in the band
    assert (d[:, :, ~inner] == 0).all() and (d[:, :, inner] > 0).all()  # border pixels: cost 0, not searched
    init = torch.tensor(patchmatch_tables(0, 10, 12, 3, 2, 3)["init"][0])  # border: the first random draw
    assert torch.equal(y[:, :, ~inner], init[0].reshape(1, 3, -1)[:, :, ~inner].expand(2, 3, -1))
    db = d[:, :, inner]
    assert (db[:, 1:] >= db[:, :-1]).all()
    flat = (y * 12 + x).long()[:, :, inner]
    assert (flat[:, 0] != flat[:, 1]).all() and (flat[:, 1] != flat[:, 2]).all() and (flat[:, 0] != flat[:, 2]).all()


def test_masked_search_fills_holes_from_known_keys_and_keeps_known_pixels():
    q, k, _, _ = _qkvm((12, 12), b=1)
    mask = torch.zeros(1, 1, 12, 12)
    mask[:, :, 3:8, 4:9] = 1
    d, y, x = patchmatch_knn(q, k, mask, PatchMatchParams(n_iters=3))
    hole = mask.flatten().bool()
    assert (mask.flatten()[(y * 12 + x).long()] == 0).all()  # hole pixels match known pixels only
    pos = torch.arange(144).float()
    assert torch.equal((y * 12 + x)[:, :, ~hole], pos[~hole].expand(1, 3, -1))  # known pixels: themselves
    assert (d[:, :, ~hole] == 0).all()


def test_same_seed_same_result_other_seed_differs():
    q, k, v, _ = _qkvm((11, 9))
    a = patchmatch_attend(q, k, v, None, PatchMatchParams(seed=3, n_iters=1))
    b = patchmatch_attend(q, k, v, None, PatchMatchParams(seed=3, n_iters=1))
    c = patchmatch_attend(q, k, v, None, PatchMatchParams(seed=4, n_iters=1))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("masked", [False, True])
def test_numpy_kernel_matches_torch(masked):
    q, k, v, mask = _qkvm((9, 10))
    for aggregate in (False, True):
        prm = PatchMatchParams(n_iters=2, aggregate=aggregate, temperature=8.0)
        want = patchmatch_attend(q, k, v, mask if masked else None, prm).numpy()
        got = patchmatch_attention_np(q.numpy(), k.numpy(), v.numpy(), mask.numpy(), prm, masked)
        assert np.abs(want - got).max() <= tolerance_for("fp32", "reference").max_abs


def _recall(size, n_iters, seed=0):
    img = torch.from_numpy(make_image(np.random.default_rng(seed), *size))[None]  # (1, 3, H, W) coherent features
    prm = PatchMatchParams(n_iters=n_iters)
    return knn_recall(patchmatch_knn(img, img, None, prm), exact_knn_field(img, img, None, prm), *size, 3)


def test_recall_against_exact_field_improves_with_iterations():
    recall = [_recall((20, 20), it) for it in (0, 1, 2, 4)]
    assert recall[0] < 0.05  # random init: ~k / (band pixels)
    assert all(b >= a - 0.02 for a, b in zip(recall, recall[1:])), recall
    assert recall[-1] > recall[1] and recall[-1] >= 0.6, recall


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
    q, k, v, _ = _qkvm(size, b=1, cm=8, c=16)
    with _PeakNumel() as mode:
        fn(q, k, v, None, PatchMatchParams(n_iters=1, aggregate=True))
    return mode.peak


def test_memory_is_linear_in_pixels():
    # 8x8 and 15x15 have the same random-search radii count (8 -> 8,4,2; 15 -> 15,7,3), so the per-pixel
    # work is identical and the largest intermediate must grow exactly with the pixel count.
    small, large = (8, 8), (15, 15)
    ratio = (15 * 15) / (8 * 8)
    pm = [_peak(patchmatch_attend, s) for s in (small, large)]
    dense = [_peak(exact_knn_attend, s) for s in (small, large)]
    assert pm[1] <= 1.05 * ratio * pm[0], pm
    n = large[0] * large[1]
    assert dense[1] >= n * n, dense  # the exact oracle holds an (HW)^2 distance matrix
    m = 16  # propagation candidates merged at once: 4 directions x steps 1, 2, 4, 8 (gathered 4 at a time)
    per_pixel = max((3 + m) ** 2, 4 * 8 * 9, 3 * 16)  # merge matrix, 4 gathered patches, one offset's values
    assert pm[1] <= per_pixel * n, (pm, per_pixel)


def test_export_graph_is_static_rank4_and_fits_the_trt_table():
    m = PatchMatchAttention(16, n_iters=1).eval()
    proto = export_module(m, (9, 10), 16, dynamic=False)
    report = audit(proto, "trt")
    assert report.errors == []
    assert {f.rule for f in report.warnings} <= {"hostile"}  # no rank > 4, no inf constants
    assert {f.op for f in report.hostile()} == {"Gather"}  # the data-dependent lookups, and only those
