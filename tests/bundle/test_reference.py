"""Reference cases: written with the floor, read back only when complete, float32 and finite."""

import numpy as np
import pytest

from edgeattn.bundle import ReferenceCase, case_name, parse_case_name, read_case, read_npz, write_case
from edgeattn.errors import IntegrityError


def _case(batch=1):
    rng = np.random.default_rng(0)
    return ReferenceCase(batch=batch, size=(8, 12), inputs={"image": rng.random((batch, 3, 8, 12), dtype=np.float32)},
                         outputs={"logits": rng.standard_normal((batch, 5, 8, 12)).astype(np.float32)},
                         floor={"logits": {"max_abs": 1e-6, "mean_abs": 1e-7}})


def test_case_names():
    assert case_name(1, 512, 1024) == "512x1024" and case_name(2, 200, 328) == "2x200x328"
    assert parse_case_name("2x200x328") == (2, 200, 328) and parse_case_name("64x64") == (1, 64, 64)
    with pytest.raises(IntegrityError):
        parse_case_name("64by64")


def test_round_trip(tmp_path):
    case = _case(batch=2)
    entry = write_case(tmp_path, case)
    assert entry["name"] == "2x8x12" and entry["inputs"] == "reference/2x8x12/inputs.npz"
    back = read_case(tmp_path, entry, ["image"], ["logits"])
    assert back.floor == case.floor and back.size == (8, 12)
    np.testing.assert_array_equal(back.outputs["logits"], case.outputs["logits"])


def test_nan_is_refused_when_writing(tmp_path):
    case = _case()
    case.outputs["logits"][0, 0, 0, 0] = np.nan
    with pytest.raises(IntegrityError, match="1 NaN"):
        write_case(tmp_path, case)


@pytest.mark.parametrize("breakage, expected", [
    ("zero-byte", "is empty"),
    ("garbage", "not a readable .npz"),
    ("missing-key", "missing ['logits']"),
    ("extra-key", "unexpected ['other']"),
    ("float64", "must be float32"),
    ("inf", "Inf values"),
])
def test_malformed_npz(tmp_path, breakage, expected):
    path = tmp_path / "o.npz"
    good = _case().outputs["logits"]
    if breakage == "zero-byte":
        path.write_bytes(b"")
    elif breakage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif breakage == "missing-key":
        np.savez(path, other=good)
    elif breakage == "extra-key":
        np.savez(path, logits=good, other=good)
    elif breakage == "float64":
        np.savez(path, logits=good.astype(np.float64))
    else:
        bad = good.copy()
        bad[0, 0, 0, 0] = np.inf
        np.savez(path, logits=bad)
    with pytest.raises(IntegrityError) as info:
        read_npz(path, ["logits"], "reference case 8x12")
    assert expected in str(info.value) and "\n" not in str(info.value)
