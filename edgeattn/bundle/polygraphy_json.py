"""Polygraphy's JSON data formats, written and read by our own code (polygraphy is not imported).

Checked against polygraphy 0.53 (`polygraphy/json/serde.py`, `polygraphy/comparator/struct.py`):
- an ndarray is `{"array": base64(np.save(arr, allow_pickle=False)), "polygraphy_class": "ndarray"}`;
- `--load-inputs` takes a JSON list of feed dicts (one per iteration): `[{name: ndarray, ...}]`;
- `--load-outputs` takes a `RunResults`: `{"lst": [[runner, [IterationResult, ...]]], "polygraphy_class":
  "RunResults"}`, an IterationResult being `{"outputs": {name: LazyArray}, "runtime": float | null,
  "runner_name": runner, "polygraphy_class": "IterationResult"}` and a LazyArray `{"values": ndarray,
  "polygraphy_class": "LazyArray"}`.

Reading is bounded before anything is allocated: the text at most MAX_TEXT_BYTES before it is parsed, at most
MAX_ARRAYS arrays (the reference .npz bound), each decoded .npy's header checked (`npz_bounds.npy_header`: no object
dtype, exactly the bytes its shape and dtype declare) and the arrays' total within `max_bytes` and the available
memory before any array is built.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping

import numpy as np

from ..errors import IntegrityError
from .npz_bounds import MAX_ARRAYS, check_total, npy_header

__all__ = ["RUNNER", "MAX_TEXT_BYTES", "dumps_inputs", "dumps_outputs", "loads_inputs", "loads_outputs"]

RUNNER = "pytorch"  # the runner name under which the reference outputs are stored
_TYPE = "polygraphy_class"
#: the largest Polygraphy JSON text read: base64 is 4/3 of the arrays, so 1 GiB of text holds 768 MiB of float32,
#: e.g. a 1x3x8192x8192 input; a bundle's reference cases are far smaller (docs/limits.md)
MAX_TEXT_BYTES = 1 << 30


def _encode_array(arr: np.ndarray) -> dict:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return {"array": base64.b64encode(buf.getvalue()).decode(), _TYPE: "ndarray"}


def _raw_array(obj: object, where: str) -> bytes:
    """The .npy bytes of a Polygraphy ndarray (or LazyArray), base64-decoded; nothing parsed yet."""
    if isinstance(obj, dict) and obj.get(_TYPE) == "LazyArray":
        obj = obj.get("values")
    if not (isinstance(obj, dict) and obj.get(_TYPE) == "ndarray" and isinstance(obj.get("array"), str)):
        raise IntegrityError(f"{where}: not a Polygraphy ndarray")
    try:
        return base64.b64decode(obj["array"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise IntegrityError(f"{where}: unreadable array ({exc})") from None


def _decode_arrays(items: Mapping[str, object], where: str, max_bytes: int | None) -> dict[str, np.ndarray]:
    """Every array of `items` (name -> Polygraphy ndarray): count, headers and total checked before any is built."""
    if len(items) > MAX_ARRAYS:
        raise IntegrityError(f"{where} holds {len(items)} arrays, more than the {MAX_ARRAYS} a reference case may have")
    raws = {name: _raw_array(v, f"{where} [{name}]") for name, v in items.items()}
    total = 0
    for name, raw in raws.items():
        try:
            total += npy_header(io.BytesIO(raw), len(raw), name, where).nbytes
        except (ValueError, EOFError) as exc:
            raise IntegrityError(f"{where} [{name}]: unreadable array ({str(exc)[:200]})") from None
    check_total(total, max_bytes, where)
    try:
        return {name: np.load(io.BytesIO(raw), allow_pickle=False) for name, raw in raws.items()}
    except (ValueError, OSError, EOFError) as exc:
        raise IntegrityError(f"{where}: unreadable array ({str(exc)[:200]})") from None


def dumps_inputs(feeds: Mapping[str, np.ndarray]) -> str:
    """One iteration of `polygraphy run --load-inputs`."""
    return json.dumps([{name: _encode_array(arr) for name, arr in feeds.items()}], indent=1)


def dumps_outputs(outputs: Mapping[str, np.ndarray], runner: str = RUNNER) -> str:
    """One iteration of runner `runner`, for `polygraphy run --load-outputs`."""
    it = {"outputs": {name: {"values": _encode_array(arr), _TYPE: "LazyArray"} for name, arr in outputs.items()},
          "runtime": None, "runner_name": runner, _TYPE: "IterationResult"}
    return json.dumps({"lst": [[runner, [it]]], _TYPE: "RunResults"}, indent=1)


def _parse(text: str, where: str) -> object:
    if len(text) > MAX_TEXT_BYTES:  # characters: at least as many bytes; checked before any parsing
        raise IntegrityError(f"{where} is {len(text)} characters, more than the {MAX_TEXT_BYTES >> 20} MiB of "
                             "Polygraphy JSON edgeattn reads; re-export the bundle")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise IntegrityError(f"{where} nests too deeply to be Polygraphy JSON") from None


def loads_inputs(text: str, where: str = "polygraphy inputs", max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """The feeds of `polygraphy run --load-inputs` JSON (one iteration); `max_bytes` bounds the arrays' total."""
    data = _parse(text, where)
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
        raise IntegrityError(f"{where}: expected a list with one feed dict")
    return _decode_arrays(data[0], where, max_bytes)


def loads_outputs(text: str, where: str = "polygraphy outputs", max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """The outputs of a Polygraphy RunResults JSON (one runner, one iteration); `max_bytes` bounds their total."""
    data = _parse(text, where)
    try:
        (runner, iters), = data["lst"]
        (it,) = iters
        outs = it["outputs"]
    except (TypeError, KeyError, ValueError):
        raise IntegrityError(f"{where}: expected a Polygraphy RunResults with one runner and one iteration") from None
    if not isinstance(outs, dict):
        raise IntegrityError(f"{where}: the iteration's outputs must be a JSON object of arrays")
    return _decode_arrays(outs, where, max_bytes)
