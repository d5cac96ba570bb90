"""edgeattn.convert on whole small networks around reference-style modules (tests/convert/refmods.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import edgeattn
from edgeattn.convert import REL_TOLERANCE, ConversionError, find_hostile, match_converter

from . import nets
from . import refmods as R

SIZE = (37, 53)  # odd, non-square: 10x14 features, not divisible by the ISA block


def _x(h: int = SIZE[0], w: int = SIZE[1]) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))


EXPECTED = {  # network -> (module path, converter, recognised by)
    "ccnet": ("head.cca", "ccnet.criss_cross", "class path"),
    "ccnet_vendored": ("head.cca", "ccnet.criss_cross", "vendored copy"),
    "ccnet_cuda": ("head.cca", "ccnet.criss_cross", "class path"),
    "mmcv_ccnet": ("head.cca", "mmcv.criss_cross", "class path"),
    "linear": ("head", "lironui.position_linear", "vendored copy"),
    "paka": ("head.0", "paka.paka2d", "vendored copy"),
    "nonlocal": ("head.0", "mmcv.nonlocal2d", "class path"),
    "openseg_isa": ("head.stages.0", "openseg.isa_block", "vendored copy"),
    "mmseg_isa": ("decode_head", "mmseg.isa_head", "vendored copy"),
    "vista": ("attention_MSG_55", "vista.attention_gated_msg", "vendored copy"),
}


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    # mmcv's Scale is the only documented rename: gamma.scale (0-d) -> gamma (1,)
    return {k.replace("gamma.scale", "gamma"): v.reshape(-1) if k.endswith("gamma.scale") else v
            for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_convert_network(name: str) -> None:
    model = nets.ALL[name]()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = _x(16, 16) if name == "linear" else _x()  # the reference linear attention crashes on non-square inputs
    result = edgeattn.convert(model, example=x)
    path, converter, how = EXPECTED[name]
    row = next(r for r in result.rows if r.path == path)
    assert (row.converter, row.status) == (converter, "converted"), result.table()
    assert row.matched_by.startswith(how)
    assert row.calls >= 1 and row.max_rel is not None and row.max_rel <= REL_TOLERANCE
    assert result.passed and result.reference == "original", result.table()
    assert result.whole_max_rel <= REL_TOLERANCE
    assert type(result.model.get_submodule(path)) is not type(model.get_submodule(path))
    # the input model is untouched, the converted copy holds exactly its tensors (strict identity)
    assert type(model.get_submodule(path)).__name__ == type(nets.ALL[name]().get_submodule(path)).__name__
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    ours, theirs = _state(result.model), _state(model)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    # the original's checkpoint loads strictly into the converted model
    result.model.load_state_dict(model.state_dict(), strict=True)


def test_ccnet_recurrence_checks_both_passes() -> None:
    result = edgeattn.convert(nets.build_ccnet(), example=_x())
    assert result.rows[0].calls == 2  # RCCA R=2: the module is called twice, both calls compared


def test_linear_non_square_changes_semantics_and_says_so() -> None:
    model = nets.build_linear()
    with pytest.raises(RuntimeError):
        model(_x())  # the reference's (B, C, W, H) view: crashes on 37x53
    result = edgeattn.convert(model, example=_x())
    assert result.passed and result.reference.startswith("converted model on the replacements' reference")
    assert "could not run here" in result.table() and "(B, C, W, H)" in result.rows[0].note
    # H = 1: the reference silently broadcasts to (B, C, W, W); the converted model keeps (B, C, 1, W)
    head = R.PositionLinearAttention(16)
    nn.init.constant_(head.gamma, 0.5)
    x1 = torch.rand(1, 16, 1, 7)
    assert head(x1).shape == (1, 16, 7, 7)
    assert edgeattn.convert(head, example=x1).model(x1).shape == (1, 16, 1, 7)


def test_vista_is_deterministic_and_compared_with_its_policy() -> None:
    model = nets.build_vista()
    x = _x()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, model(x))  # the reference samples at inference
    result = edgeattn.convert(model, example=x)
    assert result.passed and "gap of the original's random draw" in result.rows[0].note
    state = torch.random.get_rng_state()
    out1, out2 = result.model(x), result.model(x)
    assert torch.equal(out1, out2) and torch.equal(state, torch.random.get_rng_state())


def test_cuda_extension_variant_that_cannot_run_falls_back_to_reference_path(monkeypatch) -> None:
    model = nets.build_ccnet_cuda()

    def no_extension(ctx, t, f):  # noqa: ANN001, ANN202
        raise RuntimeError("ca_forward_cuda: CUDA extension not built / no GPU")

    monkeypatch.setattr(R.CA_Weight, "forward", staticmethod(no_extension))
    result = edgeattn.convert(model, example=_x())
    assert result.passed and result.reference.startswith("converted model")
    assert result.rows[0].status == "converted" and result.rows[0].max_rel <= REL_TOLERANCE


def test_failure_names_the_module(monkeypatch) -> None:
    from edgeattn.nn import CrissCrossAttention

    orig = CrissCrossAttention.forward_export
    monkeypatch.setattr(CrissCrossAttention, "forward_export", lambda self, x: orig(self, x) * 1.01)
    result = edgeattn.convert(nets.build_ccnet(), example=_x())
    assert not result.passed and "'head.cca'" in result.failure and result.rows[0].status == "MISMATCH"
    with pytest.raises(ConversionError, match="head.cca"):
        result.check()


class TopKPool(nn.Module):
    def forward(self, x):  # noqa: ANN001, ANN201
        return torch.topk(x.flatten(2), 3, dim=2).values.mean(2)[..., None, None] + x


class Warp(nn.Module):
    def forward(self, x):  # noqa: ANN001, ANN201
        grid = torch.zeros(x.shape[0], x.shape[2], x.shape[3], 2)
        return torch.nn.functional.grid_sample(x, grid, align_corners=False)


class Noisy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        nn.init.normal_(torch.empty(3))  # initialisation code is not inference: never reported

    def forward(self, x):  # noqa: ANN001, ANN201
        return x + 0 * torch.rand_like(x)


def test_hostile_inventory() -> None:
    model = nn.Sequential(TopKPool(), Warp(), Noisy(), nn.Conv2d(3, 3, 1),
                          R.PAKA2d(8, 8, 3, stride=1, padding=2, dilation=1), R.CrissCrossAttentionCUDA(16))
    result = edgeattn.convert(model)
    hostile = {h.path: " ".join(h.reasons) for h in result.hostile}
    assert "topk" in hostile["0"] and "grid_sample" in hostile["1"] and "rand_like" in hostile["2"]
    assert "3" not in hostile  # plain conv
    # PAKA with padding 2 at dilation 1 has a converter but no export path: listed with both reasons
    declined = next(r for r in result.rows if r.path == "4")
    assert declined.status == "not converted" and "padding 2" in declined.note
    assert "unfold" in hostile["4"] or "Unfold" in hostile["4.unfold"]
    assert "5" not in hostile and result.rows[-1].path != "5"  # converted: not in the inventory
    ccnet_pure = find_hostile(nn.Sequential(R.CrissCrossAttention(16)))
    assert "torch.diag" in " ".join(ccnet_pure[0].reasons) and "via INF" in " ".join(ccnet_pure[0].reasons)
    cuda = find_hostile(nn.Sequential(R.CrissCrossAttentionCUDA(16)))
    assert "autograd.Function" in " ".join(cuda[0].reasons)
    vista = find_hostile(nn.Sequential(R.AttentionGatedMSG(8)))
    assert {"randn", "unfold"} <= {w for r in vista[0].reasons for w in r.replace("(", " ").split()}


def test_recognition_needs_name_and_parameters() -> None:
    class CrissCrossAttention(nn.Module):  # same name, other parameters: not a vendored CCNet
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(8, 8, 1)

    assert match_converter(CrissCrossAttention()) is None
    assert match_converter(R.CrissCrossAttention(16))[1].startswith("vendored copy")


def test_registry_refuses_duplicates() -> None:
    from edgeattn.convert import register_converter

    with pytest.raises(ValueError, match="already registered"):
        register_converter("ccnet.criss_cross", class_paths=(), source="", changes="")(lambda m: m)
    with pytest.raises(ValueError, match="already has converter"):
        register_converter("test.dup", class_paths=("mmcv.ops.cc_attention.CrissCrossAttention",), source="",
                           changes="")(lambda m: m)


def test_example_is_optional_and_nothing_is_checked_without_it() -> None:
    result = edgeattn.convert(nets.build_ccnet())
    assert result.rows[0].status == "unchecked" and result.whole_max_abs is None and result.passed
