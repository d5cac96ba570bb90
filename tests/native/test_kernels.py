"""The compiled kernels (edgeattn/native) against the numpy reference path, within the fp32 OpenVINO tolerance of
the table: criss-cross and PatchMatch (masked and unmasked, plain and aggregated) at odd, non-square sizes with
batch > 1, several sizes through one compiled model (dynamic shapes), thread counts, IR save/reload."""

import numpy as np
import pytest

from edgeattn.bundle.tolerances import tolerance_for
from edgeattn.ops.criss_cross import criss_cross_np
from edgeattn.ops.patchmatch import PatchMatchParams, patchmatch_attention_np

from ._graphs import F32, compile_onnx, core, criss_cross_model, patchmatch_model, randn

pytestmark = pytest.mark.native
ov = pytest.importorskip("openvino")
TOL = tolerance_for("fp32", "openvino").max_abs


def _cc_case(rng, b, ck, c, h, w):
    return {"q": randn(rng, b, ck, h, w), "k": randn(rng, b, ck, h, w), "v": randn(rng, b, c, h, w)}


def test_criss_cross_matches_the_reference_at_many_sizes_in_one_compiled_model():
    compiled = compile_onnx(criss_cross_model())
    rng = np.random.default_rng(0)
    # odd, non-square, a single row / column, full 32-pixel tiles plus an edge, row blocks of 16 (in groups of 4) with
    # rows left over, channel blocks of 3 with 1-2 left over, batch 1-3
    for b, ck, c, h, w in [(2, 3, 5, 7, 9), (3, 4, 6, 1, 5), (1, 2, 3, 11, 1), (2, 8, 16, 13, 70), (1, 16, 32, 33, 17),
                           (1, 4, 7, 6, 64), (2, 5, 4, 7, 96), (1, 3, 5, 18, 32)]:
        feeds = _cc_case(rng, b, ck, c, h, w)
        got = compiled(feeds)[0]
        want = criss_cross_np(feeds["q"], feeds["k"], feeds["v"])
        assert got.shape == want.shape == (b, c, h, w)
        assert np.abs(got - want).max() <= TOL, (b, ck, c, h, w)


def test_criss_cross_softmax_is_stable_for_large_energies():
    rng = np.random.default_rng(1)
    feeds = _cc_case(rng, 2, 4, 3, 9, 6)
    feeds["q"] *= 30.0  # energies in the thousands: exp without the maximum would overflow
    got = compile_onnx(criss_cross_model())(feeds)[0]
    want = criss_cross_np(feeds["q"], feeds["k"], feeds["v"])
    assert np.isfinite(got).all() and np.abs(got - want).max() <= TOL * np.abs(want).max()


PM_CASES = [  # (batch, Cm, C, H, W, patch, aggregate, masked, iters, knn, seed)
    (2, 4, 5, 7, 9, 3, 1, 0, 2, 3, 2),
    (2, 4, 5, 9, 7, 3, 0, 1, 2, 3, 0),
    (2, 3, 2, 11, 9, 5, 1, 1, 3, 3, 7),
    (3, 4, 3, 16, 13, 3, 1, 1, 5, 2, 0),
    (2, 5, 3, 12, 21, 3, 0, 0, 5, 4, 3),
    (2, 2, 3, 3, 5, 3, 1, 0, 1, 3, 1),  # H == patch: one band row, no random draw for y
]


@pytest.mark.parametrize("b,cm,c,h,w,p,agg,masked,iters,knn,seed", PM_CASES)
def test_patchmatch_matches_the_reference(b, cm, c, h, w, p, agg, masked, iters, knn, seed):
    attrs = dict(knn=knn, patch_size=p, n_iters=iters, temperature=8.0, aggregate=agg, seed=seed, masked=masked)
    prm = PatchMatchParams(knn=knn, patch_size=p, n_iters=iters, temperature=8.0, aggregate=bool(agg), seed=seed)
    rng = np.random.default_rng(seed)
    feeds = {"q": randn(rng, b, cm, h, w), "k": randn(rng, b, cm, h, w), "v": randn(rng, b, c, h, w),
             "mask": (rng.random((b, 1, h, w)) < 0.4).astype(np.float32)}
    got = compile_onnx(patchmatch_model(**attrs))(feeds)[0]
    want = patchmatch_attention_np(feeds["q"], feeds["k"], feeds["v"], feeds["mask"], prm, bool(masked))
    assert np.abs(got - want).max() <= TOL


def test_patchmatch_dynamic_sizes_draw_each_size_its_own_tables():
    attrs = dict(knn=3, patch_size=3, n_iters=2, temperature=4.0, aggregate=1, seed=5, masked=1)
    prm = PatchMatchParams(knn=3, patch_size=3, n_iters=2, temperature=4.0, aggregate=True, seed=5)
    compiled = compile_onnx(patchmatch_model(**attrs))
    rng = np.random.default_rng(3)
    for h, w in [(9, 11), (14, 6), (9, 11)]:  # back to the first size: the cached tables
        feeds = {"q": randn(rng, 2, 3, h, w), "k": randn(rng, 2, 3, h, w), "v": randn(rng, 2, 4, h, w),
                 "mask": (rng.random((2, 1, h, w)) < 0.3).astype(np.float32)}
        want = patchmatch_attention_np(feeds["q"], feeds["k"], feeds["v"], feeds["mask"], prm, True)
        assert np.abs(compiled(feeds)[0] - want).max() <= TOL, (h, w)


def test_thread_count_does_not_change_a_bit():
    rng = np.random.default_rng(4)
    cc = _cc_case(rng, 2, 4, 8, 19, 75)
    pm = {"q": randn(rng, 2, 4, 15, 12), "k": randn(rng, 2, 4, 15, 12), "v": randn(rng, 2, 3, 15, 12),
          "mask": np.zeros((2, 1, 15, 12), np.float32)}
    pm_model = patchmatch_model(knn=3, patch_size=3, n_iters=3, temperature=1.0, aggregate=1, seed=0, masked=0)
    for model, feeds in ((criss_cross_model(), cc), (pm_model, pm)):
        one, two = (compile_onnx(model, threads=t)(feeds)[0] for t in (1, 2))
        assert np.array_equal(one, two)


@pytest.mark.parametrize("hint", ["bf16", "f16"])
def test_lower_precision_hints_run_the_kernels(hint):
    """f16 is OpenVINO's default on ARM CPUs: the plugin then hands the ops f16 tensors (bf16 keeps f32 here)."""
    rng = np.random.default_rng(5)
    c = core()
    cc = _cc_case(rng, 2, 4, 5, 9, 11)
    pm = {"q": randn(rng, 2, 4, 9, 10), "k": randn(rng, 2, 4, 9, 10), "v": randn(rng, 2, 3, 9, 10),
          "mask": np.zeros((2, 1, 9, 10), np.float32)}
    attrs = dict(knn=3, patch_size=3, n_iters=2, temperature=8.0, aggregate=1, seed=0, masked=0)
    prm = PatchMatchParams(n_iters=2, temperature=8.0, aggregate=True)

    def rounded(feeds):  # what the plugin hands the op: f16 tensors under f16 (bf16 keeps f32 inputs on this CPU)
        return {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()} if hint == "f16" else feeds

    for model, feeds, ref in ((criss_cross_model(), cc, lambda f: criss_cross_np(**f)),
                              (patchmatch_model(**attrs), pm, lambda f: patchmatch_attention_np(*f.values(), prm,
                                                                                                 False))):
        compiled = c.compile_model(c.read_model(model.SerializeToString(), b""), "CPU",
                                   {"INFERENCE_PRECISION_HINT": hint})
        got = compiled(feeds)[0]
        assert got.dtype == np.float32 and np.isfinite(got).all()
        # judged by that precision's bar in the table, not fp32's
        bar = tolerance_for({"bf16": "bf16", "f16": "fp16"}[hint], "openvino").max_abs
        assert np.abs(got - ref(rounded(feeds))).max() <= bar


def test_ir_save_and_reload_keeps_the_ops_and_their_attributes(tmp_path):
    attrs = dict(knn=2, patch_size=5, n_iters=2, temperature=2.5, aggregate=1, seed=9, masked=1)
    rng = np.random.default_rng(6)
    feeds = {"q": randn(rng, 2, 3, 11, 13), "k": randn(rng, 2, 3, 11, 13), "v": randn(rng, 2, 2, 11, 13),
             "mask": (rng.random((2, 1, 11, 13)) < 0.4).astype(np.float32)}
    c = core()
    model = c.read_model(patchmatch_model(**attrs).SerializeToString(), b"")
    ov.save_model(model, str(tmp_path / "pm.xml"))
    xml = (tmp_path / "pm.xml").read_text()
    assert 'type="EdgeAttnPatchMatch" version="edgeattn"' in xml and 'temperature="2.5"' in xml
    fresh = core()  # a new Core: only the library, nothing of the ONNX conversion
    got = fresh.compile_model(fresh.read_model(str(tmp_path / "pm.xml")), "CPU", F32)(feeds)[0]
    want = c.compile_model(model, "CPU", F32)(feeds)[0]
    assert np.array_equal(got, want)


def test_refusals_are_one_message():
    with pytest.raises(RuntimeError, match="plugin_version \"7\" is not supported"):
        core().read_model(criss_cross_model(version="7").SerializeToString(), b"")
    compiled = compile_onnx(patchmatch_model(knn=3, patch_size=5, n_iters=1, temperature=1.0, aggregate=0, seed=0,
                                             masked=0))
    rng = np.random.default_rng(0)
    small = {"q": randn(rng, 1, 2, 4, 9), "k": randn(rng, 1, 2, 4, 9), "v": randn(rng, 1, 2, 4, 9),
             "mask": np.zeros((1, 1, 4, 9), np.float32)}
    with pytest.raises(RuntimeError, match="at least 5x5"):
        compiled(small)
