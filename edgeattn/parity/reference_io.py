"""Saved parity references: inputs and PyTorch outputs in one .npz, checked on another host.

A reference is made where PyTorch runs (`--save-reference ref.npz`) and checked where the target runtime
runs (`--load-reference ref.npz`). Layout: `__meta__` holds JSON metadata (format, edgeattn and torch
versions, seed, batch, models with their sizes); each model x size has `MODEL|HxW|input|NAME` arrays,
`MODEL|HxW|output` (PyTorch fp32) and `MODEL|HxW|exact` (PyTorch fp64, for the fp32 floor).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .._atomic import atomic_write_bytes
from ..errors import InvalidOptionError

__all__ = ["FORMAT", "ReferenceCase", "Reference", "save_reference", "load_reference", "check_reference"]

FORMAT = "edgeattn-parity-reference/1"


@dataclass
class ReferenceCase:
    """One model at one size: the inputs, PyTorch fp32's output and PyTorch fp64's output."""

    inputs: dict[str, np.ndarray]
    output: np.ndarray
    exact: np.ndarray | None = None


@dataclass
class Reference:
    seed: int
    batch: int
    cases: dict[tuple[str, str], ReferenceCase] = field(default_factory=dict)  # (model, "HxW") -> case
    meta: dict = field(default_factory=dict)

    def sizes(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for model, size in self.cases:
            out.setdefault(model, []).append(size)
        return out


def save_reference(ref: Reference, path: Path) -> Path:
    import torch

    meta = {"format": FORMAT, "edgeattn": __version__, "torch": torch.__version__, "seed": ref.seed,
            "batch": ref.batch, "models": ref.sizes()}
    arrays: dict[str, np.ndarray] = {"__meta__": np.array(json.dumps(meta, sort_keys=True))}
    for (model, size), case in ref.cases.items():
        for name, arr in case.inputs.items():
            arrays[f"{model}|{size}|input|{name}"] = arr
        arrays[f"{model}|{size}|output"] = case.output
        if case.exact is not None:
            arrays[f"{model}|{size}|exact"] = case.exact
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(Path(path), buf.getvalue())


def load_reference(path: Path) -> Reference:
    path = Path(path)
    if not path.is_file():
        raise InvalidOptionError(f"--load-reference {str(path)!r} does not exist (make one with --save-reference)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidOptionError(f"--load-reference {str(path)!r} is not a readable .npz file ({exc})") from None
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (KeyError, json.JSONDecodeError):
        raise InvalidOptionError(f"{str(path)!r} has no edgeattn metadata: make it with --save-reference") from None
    if meta.get("format") != FORMAT:
        raise InvalidOptionError(f"{str(path)!r} is format {meta.get('format')!r}, expected {FORMAT!r}")
    ref = Reference(seed=int(meta["seed"]), batch=int(meta["batch"]), meta=meta)
    for key, arr in arrays.items():
        model, size, kind, *rest = key.split("|")
        case = ref.cases.setdefault((model, size), ReferenceCase(inputs={}, output=np.empty(0)))
        if kind == "input":
            case.inputs[rest[0]] = arr
        elif kind == "output":
            case.output = arr
        elif kind == "exact":
            case.exact = arr
    broken = [f"{m} {s}" for (m, s), c in ref.cases.items() if not c.inputs or c.output.size == 0]
    if broken:
        raise InvalidOptionError(f"{str(path)!r} is incomplete (no inputs or outputs for {', '.join(broken)})")
    return ref


def check_reference(ref: Reference, *, models: list[str], sizes: dict[str, list[str]], seed: int | None,
                    batch: int | None, input_names: dict[str, list[str]]) -> None:
    """Raise one error listing every way the saved reference differs from the requested run."""
    diffs = []
    if ref.meta.get("edgeattn") != __version__:
        diffs.append(f"edgeattn version: saved {ref.meta.get('edgeattn')}, here {__version__} (models may differ)")
    if seed is not None and seed != ref.seed:
        diffs.append(f"seed: saved {ref.seed}, requested {seed}")
    if batch is not None and batch != ref.batch:
        diffs.append(f"batch: saved {ref.batch}, requested {batch}")
    saved = ref.sizes()
    for model in models:
        if model not in saved:
            diffs.append(f"model {model}: not in the reference (it has {', '.join(sorted(saved)) or 'none'})")
            continue
        missing = [s for s in sizes.get(model, []) if s not in saved[model]]
        if missing:
            diffs.append(f"{model} sizes: requested {', '.join(missing)}, saved {', '.join(saved[model])}")
        for size in sizes.get(model, []):
            case = ref.cases.get((model, size))
            if case is not None and sorted(case.inputs) != sorted(input_names[model]):
                diffs.append(f"{model} inputs: saved {sorted(case.inputs)}, model takes {sorted(input_names[model])}")
    if diffs:
        raise InvalidOptionError("the saved reference does not match this run: " + "; ".join(diffs))
