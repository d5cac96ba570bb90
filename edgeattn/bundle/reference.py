"""Reference inputs/outputs of a bundle: one case per size, as .npz and in Polygraphy's formats.

A case holds the graph inputs by input name and PyTorch fp32's outputs by output name, computed from the
exported weights, plus the fp32 floor (|PyTorch fp32 - PyTorch fp64| per output) measured at export time.
Reading refuses anything a verdict could not honestly be built on: unreadable or zero-byte files, missing or
extra arrays, non-float32 arrays, and NaN/Inf values (IntegrityError, exit status 2).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IntegrityError
from .layout import case_name, case_paths
from .polygraphy_json import dumps_inputs, dumps_outputs

__all__ = ["ReferenceCase", "write_case", "read_case", "read_npz", "check_finite"]


@dataclass
class ReferenceCase:
    batch: int
    size: tuple[int, int]  # (H, W)
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    floor: dict[str, dict[str, float]] = field(default_factory=dict)  # output -> {max_abs, mean_abs}

    @property
    def name(self) -> str:
        return case_name(self.batch, *self.size)


def check_finite(arrays: Mapping[str, np.ndarray], where: str) -> None:
    """Refuse NaN/Inf: a reference with them cannot judge anything (NaN compares unequal to everything)."""
    for name, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            raise IntegrityError(f"{where}: array {name!r} holds {nan} NaN and {inf} Inf values; a reference must "
                                 "be finite (re-export the bundle)")


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def write_case(folder: Path, case: ReferenceCase) -> dict:
    """Write the case's four files under `folder` (a bundle being staged); returns its manifest entry."""
    check_finite(case.inputs, f"reference {case.name} inputs")
    check_finite(case.outputs, f"reference {case.name} outputs")
    paths = case_paths(case.name)
    folder = Path(folder)
    (folder / paths.inputs).parent.mkdir(parents=True, exist_ok=True)
    (folder / paths.inputs).write_bytes(_npz_bytes(case.inputs))
    (folder / paths.outputs).write_bytes(_npz_bytes(case.outputs))
    (folder / paths.polygraphy_inputs).write_text(dumps_inputs(case.inputs))
    (folder / paths.polygraphy_outputs).write_text(dumps_outputs(case.outputs))
    return {"name": case.name, "batch": case.batch, "size": list(case.size), "inputs": paths.inputs,
            "outputs": paths.outputs, "polygraphy_inputs": paths.polygraphy_inputs,
            "polygraphy_outputs": paths.polygraphy_outputs, "floor": case.floor}


def read_npz(path: Path, expected: list[str], where: str) -> dict[str, np.ndarray]:
    """Every array of `path`; exactly the names in `expected`, float32, finite. Anything else: IntegrityError."""
    path = Path(path)
    if not path.is_file():
        raise IntegrityError(f"{where}: {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise IntegrityError(f"{where}: {str(path)!r} is empty (0 bytes)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise IntegrityError(f"{where}: {str(path)!r} is not a readable .npz file ({exc})") from None
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        detail = (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else "")
        raise IntegrityError(f"{where}: {str(path)!r} has arrays {sorted(arrays)}, expected {sorted(expected)}{detail}")
    bad = [f"{k} is {a.dtype}" for k, a in arrays.items() if a.dtype != np.float32]
    if bad:
        raise IntegrityError(f"{where}: {str(path)!r}: arrays must be float32 ({', '.join(bad)})")
    check_finite(arrays, f"{where} ({path.name})")
    return arrays


def read_case(folder: Path, entry: Mapping, input_names: list[str], output_names: list[str]) -> ReferenceCase:
    """Load one case described by its manifest entry; validates shapes against the entry's batch and size."""
    name = entry.get("name", "?")
    where = f"reference case {name}"
    inputs = read_npz(Path(folder) / entry["inputs"], input_names, where)
    outputs = read_npz(Path(folder) / entry["outputs"], output_names, where)
    batch, size = int(entry["batch"]), (int(entry["size"][0]), int(entry["size"][1]))
    for k, a in inputs.items():
        if a.ndim != 4 or a.shape[0] != batch or tuple(a.shape[2:]) != size:
            raise IntegrityError(f"{where}: input {k!r} has shape {a.shape}, expected ({batch}, C, {size[0]}, "
                                 f"{size[1]})")
    return ReferenceCase(batch=batch, size=size, inputs=inputs, outputs=outputs, floor=dict(entry.get("floor") or {}))
