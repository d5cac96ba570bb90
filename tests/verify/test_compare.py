import json

import numpy as np
import pytest

from edgeattn.errors import UnknownNameError
from edgeattn.verify import TOLERANCES, compare, format_table, tolerance_for, unavailable


def test_every_tolerance_has_a_reason():
    assert all(t.reason and t.max_abs > 0 for t in TOLERANCES.values())


def test_pass_and_statistics():
    ref = np.zeros((1, 3, 4, 4), np.float32)
    cand = ref.copy()
    cand[0, 0, 0, 0] = 5e-5
    c = compare(ref, cand, runtime="ort")
    assert c.passed and c.max_abs_err == pytest.approx(5e-5) and c.would_pass_at == pytest.approx(5e-5)
    assert c.p99_abs_err is not None and c.mean_abs_err == pytest.approx(5e-5 / 48)


def test_fail_names_the_reason():
    ref = np.zeros((1, 3, 4, 4), np.float32)
    c = compare(ref, ref + 1e-3, runtime="ort")
    assert c.status == "failed" and "max abs error" in c.reason


def test_nan_and_inf_fail():
    ref = np.zeros((2, 2), np.float32)
    cand = ref.copy()
    cand[0, 0] = np.nan
    cand[1, 1] = np.inf
    c = compare(ref, cand, runtime="ort")
    assert c.status == "failed" and c.nan == 1 and c.inf == 1


def test_shape_mismatch_fails():
    c = compare(np.zeros((1, 2)), np.zeros((2, 1)), runtime="ort")
    assert c.status == "failed" and "shape" in c.reason


def test_fp32_floor_raises_the_bar_only_as_far_as_pytorch_itself_errs():
    exact = np.zeros((1, 1, 10, 10))
    ref = exact + 3e-4  # PyTorch fp32 is 3e-4 from the exact result
    assert compare(ref, ref + 5e-4, runtime="ort", exact=exact).passed  # within 2x the floor
    c = compare(ref, ref + 7e-4, runtime="ort", exact=exact)
    assert not c.passed and c.tolerance == pytest.approx(6e-4) and c.fp32_floor == pytest.approx(3e-4)
    # without a floor the fixed tolerance applies
    assert not compare(ref, ref + 5e-4, runtime="ort").passed


def test_segmentation_argmax_agreement():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(1, 5, 20, 20)).astype(np.float32)
    swapped = ref.copy()
    swapped[:, [0, 1]] = swapped[:, [1, 0]]  # different classes, same error statistics scale
    c = compare(ref, swapped, runtime="ort", task="segmentation")
    assert c.task_metric == "argmax_agreement" and c.task_value < 0.9 and not c.passed


def test_unknown_pair():
    with pytest.raises(UnknownNameError):
        tolerance_for("fp8", "ort")


def test_table_and_json():
    rows = [compare(np.zeros(4), np.zeros(4), runtime="ort"), unavailable("tensorrt", "not installed")]
    text = format_table(rows, title="t")
    assert "PASSED" in text and "UNAVAILABLE" in text and "not installed" in text
    json.dumps([r.to_dict() for r in rows])


def test_nan_reference_is_refused_never_passed():
    from edgeattn.errors import IntegrityError

    ref = np.full((1, 2, 4, 4), np.nan, np.float32)
    with pytest.raises(IntegrityError, match="NaN"):
        compare(ref, ref.copy(), runtime="ort")


def test_the_bar_is_the_stored_one_never_the_data_judged():
    """A stored tolerance and floor decide; a reference shifted by 1e-2 fails however it was produced."""
    from edgeattn.verify import Tolerance

    rng = np.random.default_rng(0)
    ref = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    stored = Tolerance(1e-4, 1e-5, "stored at export")
    row = compare(ref + np.float32(1e-2), ref, runtime="ort", tolerance=stored, floor=(1e-6, 1e-7))
    assert row.status == "failed" and row.tolerance == 1e-4
    row = compare(ref, ref + np.float32(3e-5), runtime="ort", tolerance=stored, floor=(1e-4, 2e-5))
    assert row.status == "passed" and row.tolerance == 2e-4  # raised by the stored fp32 floor only


def test_bundle_tolerances_cover_the_runtimes_of_each_precision():
    from edgeattn.verify import bundle_tolerances

    assert set(bundle_tolerances("segmentation", "fp32")) == {"fp32/ort", "fp32/openvino", "fp32/reference",
                                                              "fp32/tensorrt"}
    fp16 = bundle_tolerances("segmentation", "fp16")
    # a trt fp16 bundle's model.onnx is float16 (float32 islands): ORT runs it in fp16 too
    assert {"fp16/openvino", "fp16/tensorrt", "fp16/ort"} <= set(fp16) and "fp32/openvino" not in fp16
    assert fp16["fp16/tensorrt"]["task_metric"] == "argmax_agreement"
