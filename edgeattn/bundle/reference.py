"""Reference inputs/outputs of a bundle: one case per size, as .npz and in Polygraphy's formats.

A case holds the graph inputs by input name and PyTorch fp32's outputs by output name, computed from the
exported weights, plus the fp32 floor (|PyTorch fp32 - PyTorch fp64| per output) measured at export time.
Reading refuses anything a verdict could not honestly be built on: unreadable or zero-byte files, missing or
extra arrays, non-float32 arrays, shapes the manifest does not declare (checked from the .npy headers before any
array is loaded: npz_bounds.py), and NaN/Inf values (IntegrityError, exit status 2).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IntegrityError
from .layout import case_name, case_paths
from .npz_bounds import case_shape_rules, check_total, npz_headers
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


def read_npz(path: Path, expected: list[str], where: str,
             shapes: Mapping[str, Callable[[tuple[int, ...]], str | None]] | None = None,
             max_bytes: int | None = None, hashed: tuple[Path, str, Mapping] | None = None) -> dict[str, np.ndarray]:
    """Every array of `path`; exactly the names in `expected`, float32, finite. Anything else: IntegrityError.

    Before any array is loaded the zip directory and each array's .npy header are read (`npz_headers`): the names,
    float32, each shape accepted by `shapes[name]` (a rule returning why not, or None), sizes that agree with the
    zip's, and the total within `max_bytes` and the memory available. A small file declaring a huge array fails
    here, in milliseconds, without allocating it.

    `hashed` = (bundle folder, relative path, manifest record): the file is read once and its bytes checked against
    the record before anything is parsed, so a file swapped after the bundle's integrity check is refused rather
    than read."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise IntegrityError(f"{where}: {str(path)!r} does not exist or is not a regular file")
    if path.stat().st_size == 0:
        raise IntegrityError(f"{where}: {str(path)!r} is empty (0 bytes)")
    source: Path | io.BytesIO = path
    if hashed is not None:
        from .model_copy import read_hashed
        from .._resources import available_memory

        have = available_memory()
        source = io.BytesIO(read_hashed(hashed[0], hashed[1], hashed[2], have if have is not None else 1 << 40))
    headers = npz_headers(source, where, label=str(path))
    missing = sorted(set(expected) - set(headers))
    extra = sorted(set(headers) - set(expected))
    if missing or extra:
        detail = (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else "")
        raise IntegrityError(f"{where}: {str(path)!r} has arrays {sorted(headers)}, expected {sorted(expected)}"
                             f"{detail}")
    bad = [f"{k} is {h.dtype}" for k, h in headers.items() if h.dtype != np.float32]
    if bad:
        raise IntegrityError(f"{where}: {str(path)!r}: arrays must be float32 ({', '.join(bad)})")
    for k, h in headers.items():
        why = shapes[k](h.shape) if shapes and k in shapes else None
        if why:
            raise IntegrityError(f"{where}: {str(path)!r}: array {k!r} declares shape {h.shape}, but {why}; "
                                 "re-export the bundle")
    check_total(sum(h.nbytes for h in headers.values()), max_bytes, f"{where}: {str(path)!r}")
    try:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        with np.load(source, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise IntegrityError(f"{where}: {str(path)!r} is not a readable .npz file ({exc})") from None
    check_finite(arrays, f"{where} ({path.name})")
    return arrays


def read_case(folder: Path, entry: Mapping, input_names: list[str], output_names: list[str],
              manifest: Mapping | None = None) -> ReferenceCase:
    """Load one case described by its manifest entry; validates shapes against the entry's batch and size, and
    (with `manifest`) every declared shape against the manifest's inputs and outputs before loading anything."""
    name = entry.get("name", "?")
    where = f"reference case {name}"
    try:
        batch, size = int(entry["batch"]), (int(entry["size"][0]), int(entry["size"][1]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise IntegrityError(f"{where}: batch and size must be integers ([H, W]); re-export the bundle") from None
    in_rules, out_rules = case_shape_rules(manifest, batch, size) if manifest is not None else ({}, {})
    files = (manifest or {}).get("files") or {}

    def hashed(rel: str) -> tuple[Path, str, Mapping] | None:  # with the manifest: parse only the hashed bytes
        return (Path(folder), rel, files[rel]) if rel in files else None

    inputs = read_npz(Path(folder) / entry["inputs"], input_names, where, in_rules, hashed=hashed(entry["inputs"]))
    outputs = read_npz(Path(folder) / entry["outputs"], output_names, where, out_rules,
                       hashed=hashed(entry["outputs"]))
    for k, a in inputs.items():
        if a.ndim != 4 or a.shape[0] != batch or tuple(a.shape[2:]) != size:
            raise IntegrityError(f"{where}: input {k!r} has shape {a.shape}, expected ({batch}, C, {size[0]}, "
                                 f"{size[1]})")
    return ReferenceCase(batch=batch, size=size, inputs=inputs, outputs=outputs, floor=dict(entry.get("floor") or {}))
