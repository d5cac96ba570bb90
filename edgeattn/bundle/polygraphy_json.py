"""Polygraphy's JSON data formats, written and read by our own code (polygraphy is not imported).

Checked against polygraphy 0.53 (`polygraphy/json/serde.py`, `polygraphy/comparator/struct.py`):
- an ndarray is `{"array": base64(np.save(arr, allow_pickle=False)), "polygraphy_class": "ndarray"}`;
- `--load-inputs` takes a JSON list of feed dicts (one per iteration): `[{name: ndarray, ...}]`;
- `--load-outputs` takes a `RunResults`: `{"lst": [[runner, [IterationResult, ...]]], "polygraphy_class":
  "RunResults"}`, an IterationResult being `{"outputs": {name: LazyArray}, "runtime": float | null,
  "runner_name": runner, "polygraphy_class": "IterationResult"}` and a LazyArray `{"values": ndarray,
  "polygraphy_class": "LazyArray"}`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping

import numpy as np

from ..errors import IntegrityError

__all__ = ["RUNNER", "dumps_inputs", "dumps_outputs", "loads_inputs", "loads_outputs"]

RUNNER = "pytorch"  # the runner name under which the reference outputs are stored
_TYPE = "polygraphy_class"


def _encode_array(arr: np.ndarray) -> dict:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return {"array": base64.b64encode(buf.getvalue()).decode(), _TYPE: "ndarray"}


def _decode_array(obj: object, where: str) -> np.ndarray:
    if isinstance(obj, dict) and obj.get(_TYPE) == "LazyArray":
        obj = obj.get("values")
    if not (isinstance(obj, dict) and obj.get(_TYPE) == "ndarray" and isinstance(obj.get("array"), str)):
        raise IntegrityError(f"{where}: not a Polygraphy ndarray")
    try:
        return np.load(io.BytesIO(base64.b64decode(obj["array"], validate=True)), allow_pickle=False)
    except (binascii.Error, ValueError, OSError) as exc:
        raise IntegrityError(f"{where}: unreadable array ({exc})") from None


def dumps_inputs(feeds: Mapping[str, np.ndarray]) -> str:
    """One iteration of `polygraphy run --load-inputs`."""
    return json.dumps([{name: _encode_array(arr) for name, arr in feeds.items()}], indent=1)


def dumps_outputs(outputs: Mapping[str, np.ndarray], runner: str = RUNNER) -> str:
    """One iteration of runner `runner`, for `polygraphy run --load-outputs`."""
    it = {"outputs": {name: {"values": _encode_array(arr), _TYPE: "LazyArray"} for name, arr in outputs.items()},
          "runtime": None, "runner_name": runner, _TYPE: "IterationResult"}
    return json.dumps({"lst": [[runner, [it]]], _TYPE: "RunResults"}, indent=1)


def _parse(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def loads_inputs(text: str, where: str = "polygraphy inputs") -> dict[str, np.ndarray]:
    data = _parse(text, where)
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
        raise IntegrityError(f"{where}: expected a list with one feed dict")
    return {name: _decode_array(v, f"{where} [{name}]") for name, v in data[0].items()}


def loads_outputs(text: str, where: str = "polygraphy outputs") -> dict[str, np.ndarray]:
    data = _parse(text, where)
    try:
        (runner, iters), = data["lst"]
        (it,) = iters
        outs = it["outputs"]
    except (TypeError, KeyError, ValueError):
        raise IntegrityError(f"{where}: expected a Polygraphy RunResults with one runner and one iteration") from None
    return {name: _decode_array(v, f"{where} [{name}]") for name, v in outs.items()}
