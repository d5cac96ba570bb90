"""Polygraphy JSON is read within bounds (edgeattn/bundle/polygraphy_json.py): the text's size before parsing, the
number of arrays, and each decoded .npy header (dtype, shape, byte size) before any array is built."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from edgeattn.bundle import polygraphy_json
from edgeattn.bundle.polygraphy_json import dumps_inputs, dumps_outputs, loads_inputs, loads_outputs
from edgeattn.errors import IntegrityError


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _feeds_text(raw: bytes, name: str = "image") -> str:
    return json.dumps([{name: {"array": base64.b64encode(raw).decode(), "polygraphy_class": "ndarray"}}])


def _outputs_text(raw: bytes) -> str:
    it = {"outputs": {"out": {"values": {"array": base64.b64encode(raw).decode(), "polygraphy_class": "ndarray"},
                              "polygraphy_class": "LazyArray"}}, "runtime": None, "runner_name": "pytorch",
          "polygraphy_class": "IterationResult"}
    return json.dumps({"lst": [["pytorch", [it]]], "polygraphy_class": "RunResults"})


def test_what_edgeattn_writes_reads_back() -> None:
    arr = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(loads_inputs(dumps_inputs({"image": arr}))["image"], arr)
    np.testing.assert_array_equal(loads_outputs(dumps_outputs({"out": arr}))["out"], arr)


def test_text_over_the_bound_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    text = dumps_inputs({"image": np.zeros((1, 3, 8, 8), np.float32)})
    monkeypatch.setattr(polygraphy_json, "MAX_TEXT_BYTES", len(text) - 1)
    monkeypatch.setattr(polygraphy_json.json, "loads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(IntegrityError, match="more than the 0 MiB of Polygraphy JSON"):
        loads_inputs(text)


def test_more_arrays_than_a_reference_holds_are_refused() -> None:
    text = dumps_inputs({f"a{i}": np.zeros(1, np.float32) for i in range(65)})
    with pytest.raises(IntegrityError, match="holds 65 arrays, more than the 64"):
        loads_inputs(text)


@pytest.mark.parametrize("raw, needle", [
    (_npy_header((1, 3, 16, 22369622)) + bytes(64), r"declares shape \(1, 3, 16, 22369622\) float32 \(4.0 GiB\)"),
    (_npy_header((1 << 40,), "<f8") + bytes(8), "declares shape"),  # 8 TiB declared, 8 bytes stored
    (_npy_header((2, 2)) + bytes(100), "declares shape"),  # more stored than declared
    (_npy_header((1,), "|O") + b"\x80\x04N.", "object dtype"),
    (b"\x93NUMPY\x09\x00" + bytes(20), "unreadable array"),  # a format version numpy never wrote
    (b"not an npy", "unreadable array"),
], ids=["4GiB-header", "8TiB-header", "extra-bytes", "object-dtype", "bad-version", "no-magic"])
def test_each_array_header_is_checked_before_allocating(raw: bytes, needle: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polygraphy_json.np, "load", lambda *a, **k: pytest.fail("an array was built"))
    for text, reader in ((_feeds_text(raw), loads_inputs), (_outputs_text(raw), loads_outputs)):
        with pytest.raises(IntegrityError, match=needle):
            reader(text)


def test_the_arrays_total_is_bounded() -> None:
    text = dumps_inputs({"image": np.zeros((1, 3, 32, 32), np.float32)})
    assert loads_inputs(text, max_bytes=12288)["image"].shape == (1, 3, 32, 32)
    with pytest.raises(IntegrityError, match="more than the 12.0 KiB allowed"):
        loads_inputs(text, max_bytes=12287)
