import json

import numpy as np
import pytest

from edgeattn.errors import UnknownNameError
from edgeattn.parity import TOLERANCES, compare, format_table, tolerance_for, unavailable


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
