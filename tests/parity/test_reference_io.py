"""Saved references: round trip, and mismatches reported all at once with what differs."""

from __future__ import annotations

import numpy as np
import pytest

from edgeattn import __version__
from edgeattn.errors import InvalidOptionError
from edgeattn.parity.reference_io import (Reference, ReferenceCase, check_reference, load_reference,
                                          save_reference)


def _ref() -> Reference:
    rng = np.random.default_rng(0)
    ref = Reference(seed=3, batch=1)
    ref.cases[("m", "32x64")] = ReferenceCase(inputs={"image": rng.random((1, 3, 32, 64), dtype=np.float32)},
                                              output=rng.random((1, 19, 32, 64), dtype=np.float32),
                                              exact=rng.random((1, 19, 32, 64)))
    return ref


def test_round_trip(tmp_path):
    ref = _ref()
    path = save_reference(ref, tmp_path / "ref.npz")
    back = load_reference(path)
    assert (back.seed, back.batch) == (3, 1)
    assert back.meta["edgeattn"] == __version__ and back.sizes() == {"m": ["32x64"]}
    a, b = ref.cases[("m", "32x64")], back.cases[("m", "32x64")]
    np.testing.assert_array_equal(a.inputs["image"], b.inputs["image"])
    np.testing.assert_array_equal(a.output, b.output)
    np.testing.assert_array_equal(a.exact, b.exact)
    assert b.exact.dtype == np.float64


def test_mismatch_lists_every_difference(tmp_path):
    back = load_reference(save_reference(_ref(), tmp_path / "ref.npz"))
    with pytest.raises(InvalidOptionError) as err:
        check_reference(back, models=["m", "other"], sizes={"m": ["64x64"], "other": ["32x32"]}, seed=4, batch=2,
                        input_names={"m": ["image"], "other": ["image"]})
    msg = str(err.value)
    for part in ["seed: saved 3, requested 4", "batch: saved 1, requested 2", "model other: not in the reference",
                 "m sizes: requested 64x64, saved 32x64"]:
        assert part in msg


def test_matching_request_passes_and_inputs_checked(tmp_path):
    back = load_reference(save_reference(_ref(), tmp_path / "ref.npz"))
    check_reference(back, models=["m"], sizes={"m": ["32x64"]}, seed=3, batch=1, input_names={"m": ["image"]})
    with pytest.raises(InvalidOptionError, match="m inputs: saved"):
        check_reference(back, models=["m"], sizes={"m": ["32x64"]}, seed=None, batch=None,
                        input_names={"m": ["image", "mask"]})


def test_version_mismatch_is_reported(tmp_path):
    back = load_reference(save_reference(_ref(), tmp_path / "ref.npz"))
    back.meta["edgeattn"] = "0.0.1"
    with pytest.raises(InvalidOptionError, match="edgeattn version: saved 0.0.1"):
        check_reference(back, models=["m"], sizes={"m": ["32x64"]}, seed=None, batch=None, input_names={"m": ["image"]})


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_unreadable_or_foreign_files(tmp_path, content):
    path = tmp_path / "x.npz"
    if content is None:
        np.savez(path, a=np.zeros(3))  # a valid npz without edgeattn metadata
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidOptionError):
        load_reference(path)
