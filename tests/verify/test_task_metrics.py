"""Task-level parity for dehazing (PSNR, higher is better) and flow (EPE, lower is better)."""

import math

import numpy as np

from edgeattn.verify import compare, format_table
from edgeattn.verify.tolerances import TASK_THRESHOLDS
from edgeattn.verify.tolerances import TASK_DIRECTIONS, task_passes


def test_every_task_threshold_has_a_reason_and_a_direction():
    for metric, _threshold, reason in TASK_THRESHOLDS.values():
        assert reason and TASK_DIRECTIONS[metric] in (">=", "<=")
    assert TASK_THRESHOLDS[("dehazing", "fp32")][:2] == ("psnr_db", 60.0)
    assert TASK_THRESHOLDS[("flow", "fp32")][:2] == ("epe_px", 0.01)
    assert task_passes("epe_px", 0.005, 0.01) and not task_passes("epe_px", 0.02, 0.01)
    assert task_passes("psnr_db", 61, 60) and not task_passes("psnr_db", 59, 60)


def test_flow_epe_between_outputs():
    ref = np.zeros((1, 2, 4, 5), np.float32)
    cand = ref.copy()
    cand[0, 0] = 3e-6  # u off by 3e-6 px, v by 4e-6 px everywhere: EPE 5e-6
    cand[0, 1] = 4e-6
    c = compare(ref, cand, runtime="ort", task="flow")
    assert c.passed and c.task_metric == "epe_px" and math.isclose(c.task_value, 5e-6, rel_tol=1e-5)
    assert "epe_px=5e-06 (<= 0.01)" in format_table([c])


def test_flow_fails_on_epe_even_when_tensor_tolerance_is_met():
    # A runtime whose every value is within a generous tolerance can still move the flow too much on average:
    # here the task check is the one that fails. (The floor lifts the tensor bar to 2x the fp32 floor.)
    ref = np.zeros((1, 2, 8, 8))
    cand = ref + 0.02
    exact = ref + 0.02  # pretend PyTorch fp32 is 0.02 from fp64: the tensor bar becomes 0.04
    c = compare(ref, cand, runtime="ort", task="flow", exact=exact)
    assert not c.passed and c.max_abs_err <= c.tolerance and "epe_px 0.028284 > 0.01" in c.reason


def test_dehazing_psnr_between_outputs():
    rng = np.random.default_rng(0)
    ref = rng.random((1, 3, 8, 8))
    ok = compare(ref, ref + 1e-5, runtime="openvino", task="dehazing")
    assert ok.passed and ok.task_metric == "psnr_db" and math.isclose(ok.task_value, 100.0, rel_tol=1e-6)
    same = compare(ref, ref.copy(), runtime="ort", task="dehazing")
    assert same.passed and same.task_value == 200.0  # identical outputs: capped, so reports stay valid JSON
    bad = compare(ref, ref + 2e-3, runtime="ort", task="dehazing", exact=ref + 2e-3)  # 54 dB, tensor bar 4e-3
    assert not bad.passed and "psnr_db" in bad.reason and "< 60" in bad.reason
