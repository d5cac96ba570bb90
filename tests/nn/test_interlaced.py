import pytest
import torch

from edgeattn.nn import InterlacedSparseAttention, set_path
from edgeattn.nn.interlaced import from_blocks, to_blocks

from ._onnx import export_module, hostile, op_count, run_ort


def _module(channels=16, block=(8, 8)):
    m = InterlacedSparseAttention(channels, block=block).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):  # non-trivial folded BN
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    return m


@pytest.mark.parametrize("size", [(13, 19), (19, 13), (16, 24), (1, 1), (9, 3)])
def test_paths_agree_at_sizes_not_divisible_by_the_block(size):
    m = _module()
    x = torch.randn(2, 16, *size)
    with torch.no_grad():
        ref = set_path(m, "reference")(x)
        exp = set_path(m, "export")(x)
    assert ref.shape == x.shape
    assert (ref - exp).abs().max().item() <= 1e-5


def test_blocks_and_interlaced_groups():
    # Encode each pixel's coordinates in its channels and read them back from the grouped layout.
    hp, wp, block = 16, 24, (8, 8)
    ys, xs = torch.meshgrid(torch.arange(hp), torch.arange(wp), indexing="ij")
    coords = torch.stack([ys, xs], -1)[None].float()  # (1, Hp, Wp, 2)
    grouped = to_blocks(coords, block)  # (1, L, P, 2)
    assert grouped.shape == (1, 2 * 3, 64, 2)
    for blk in range(6):  # short range: block blk holds one contiguous 8x8 tile
        tile = grouped[0, blk]
        assert set(tile[:, 0].long().div(8, rounding_mode="floor").tolist()) == {blk // 3}
        assert set(tile[:, 1].long().div(8, rounding_mode="floor").tolist()) == {blk % 3}
        assert len({tuple(t) for t in tile.tolist()}) == 64
    for p in range(64):  # long range: position p across blocks is one interlaced group (same coords mod 8)
        group = grouped[0, :, p]
        assert set((group[:, 0] % 8).long().tolist()) == {p // 8}
        assert set((group[:, 1] % 8).long().tolist()) == {p % 8}
    assert torch.equal(from_blocks(grouped, block, hp, wp), coords)


def test_long_range_then_short_range_reaches_every_pixel_but_each_stage_is_sparse():
    m = _module(8, block=(4, 4))
    x = torch.randn(1, 8, 8, 8)
    x2 = x.clone()
    x2[0, :, 1, 2] += 3.0
    with torch.no_grad():
        lsa = m.long_range_sa
        long_changed = (lsa(x2.view(1, 8, 2, 4, 2, 4).permute(0, 3, 5, 1, 2, 4).reshape(16, 8, 2, 2))
                        - lsa(x.view(1, 8, 2, 4, 2, 4).permute(0, 3, 5, 1, 2, 4).reshape(16, 8, 2, 2)))
        groups = long_changed.abs().amax(dim=(1, 2, 3)) > 1e-6  # which of the 16 interlaced groups moved
        assert groups.nonzero().flatten().tolist() == [1 * 4 + 2]  # only the group of (1 mod 4, 2 mod 4)
        full = (m(x2) - m(x)).abs().amax(1)[0] > 1e-6
    assert full.all()  # two sparse steps give a dense receptive field


def test_export_pads_always_and_runs_at_other_sizes():
    m = _module(16)
    proto = export_module(m, (16, 24), 16)  # exported at a size divisible by 8 ...
    assert hostile(proto) == [] and op_count(proto, "If") == 0 and op_count(proto, "Pad") == 1
    for size in [(13, 19), (21, 10), (40, 8)]:  # ... runs at sizes that are not, and at another multiple
        x = torch.randn(2, 16, *size)
        with torch.no_grad():
            want = set_path(m, "reference")(x).numpy()
        assert abs(run_ort(proto, x) - want).max() <= 1e-5


def test_training_mode_uses_batch_statistics():
    m = InterlacedSparseAttention(8).train()
    x = torch.randn(2, 8, 9, 11)
    ref = set_path(m, "reference")(x)
    exp = set_path(m, "export")(x)
    assert torch.allclose(ref, exp)
    exp.sum().backward()
    assert m.long_range_sa.f_key[0].weight.grad is not None
