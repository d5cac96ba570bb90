"""Bounds on reference .npz files, checked from their headers before any array is loaded.

An .npz is a zip of .npy files; each .npy starts with a small header declaring dtype and shape. Loading an array
allocates what the header declares before reading the data, so a 4 MB file that declares a 4 GiB array would cost
4 GiB (and half a minute) before failing. Here only the zip directory and the .npy headers are read (numpy's
public header readers, whose header size numpy itself bounds: `npy_header`, which the .npy arrays inside
Polygraphy JSON files go through too), and refused unless:

- there are at most MAX_ARRAYS members, each a .npy with a plain (non-object) dtype;
- each member's size in the zip directory is exactly its header plus the bytes its shape and dtype declare
  (zipfile never inflates a member past that size, so decompression is bounded by the declaration too);
- each declared shape is one the manifest declares for this case (`case_shape_rules`);
- the total fits in the memory available.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO
from pathlib import Path

import numpy as np

from ..errors import IntegrityError, ResourceError

__all__ = ["NpyHeader", "npy_header", "npz_headers", "case_shape_rules", "check_total", "MAX_ARRAYS"]

MAX_ARRAYS = 64
Rule = Callable[[tuple[int, ...]], "str | None"]


@dataclass(frozen=True)
class NpyHeader:
    dtype: np.dtype
    shape: tuple[int, ...]
    nbytes: int


def _human(n: int) -> str:
    from .._resources import human_bytes

    return human_bytes(n)


def npy_header(f: IO[bytes], stored: int, key: str, where: str) -> NpyHeader:
    """The header of one .npy held in `stored` bytes, read from `f` (positioned at its start) without reading its
    data: a version numpy writes, no object dtype, and exactly `stored` = header + the bytes the shape and dtype
    declare (so nothing can be allocated past what is stored). IntegrityError naming `key` otherwise; ValueError or
    EOFError for a header numpy cannot read."""
    start = f.tell()
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f".npy format version {version} is not one numpy's save writes")
    header = f.tell() - start
    if dtype.hasobject:
        raise IntegrityError(f"{where}: array {key!r} has an object dtype (pickles are never loaded)")
    nbytes = math.prod(int(d) for d in shape) * dtype.itemsize
    if stored != header + nbytes:
        raise IntegrityError(
            f"{where}: array {key!r} declares shape {tuple(shape)} {dtype} ({_human(nbytes)}), but the file stores "
            f"{_human(max(stored - header, 0))} for it; the file is not what numpy wrote: re-export the bundle")
    return NpyHeader(dtype, tuple(int(d) for d in shape), nbytes)


def npz_headers(path: Path | IO[bytes], where: str, label: str | None = None) -> dict[str, NpyHeader]:
    """{array name: header} of an .npz (a path, or a binary file object named `label` in messages), read without
    loading any array (module docstring)."""
    out: dict[str, NpyHeader] = {}
    if label is not None:
        path = _Labelled(path, label)
    try:
        with zipfile.ZipFile(path.file if isinstance(path, _Labelled) else path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ARRAYS:
                raise IntegrityError(f"{where}: {str(path)!r} holds {len(infos)} members, more than the "
                                     f"{MAX_ARRAYS} a reference file may have")
            for info in infos:
                if info.is_dir() or not info.filename.endswith(".npy"):
                    raise IntegrityError(f"{where}: {str(path)!r} holds {info.filename!r}, which is not an .npy "
                                         "array")
                key = info.filename[: -len(".npy")]
                if key in out:
                    raise IntegrityError(f"{where}: {str(path)!r} holds array {key!r} twice")
                with z.open(info) as f:
                    out[key] = npy_header(f, info.file_size, key, f"{where}: {str(path)!r}")
    except IntegrityError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise IntegrityError(f"{where}: {str(path)!r} is not a readable .npz file ({first})") from None
    return out


class _Labelled:
    """A file object that messages name by `label` (str() of it)."""

    def __init__(self, file, label: str) -> None:  # noqa: ANN001
        self.file, self.label = file, label

    def __str__(self) -> str:
        return self.label


def check_total(total: int, max_bytes: int | None, where: str) -> None:
    """Refuse arrays declaring more than `max_bytes` in all (IntegrityError) or than the memory available
    (ResourceError)."""
    if max_bytes is not None and total > max_bytes:
        raise IntegrityError(f"{where} declares {_human(total)} of arrays, more than the {_human(max_bytes)} "
                             "allowed; re-export the bundle")
    from .._resources import available_memory

    have = available_memory()
    if have is not None and total > have:
        raise ResourceError(f"{where} declares {_human(total)} of arrays, but {_human(have)} of memory is "
                            "available; verify it on a larger machine (or re-export at a smaller size)")


def _exact(expected: tuple[int, ...], what: str) -> Rule:
    def rule(shape: tuple[int, ...]) -> str | None:
        return None if shape == expected else f"the manifest declares {expected} for {what}"

    return rule


def _output_rule(batch: int, size: tuple[int, int], declared: list[int], export_hw: tuple[int, int] | None) -> Rule:
    """Outputs: the manifest's rank and channels, this case's batch, and spatial dims no larger than the case's
    input size scaled by the output/input ratio at the export size (outputs may be up- or down-sampled)."""
    limits = list(declared)
    limits[0] = batch
    if len(declared) == 4 and export_hw:
        for axis, (case_dim, in_dim) in enumerate(zip(size, export_hw), start=2):
            limits[axis] = math.ceil(case_dim * declared[axis] / max(in_dim, 1))

    def rule(shape: tuple[int, ...]) -> str | None:
        ok = (len(shape) == len(limits) and shape[0] == batch and (len(shape) < 2 or shape[1] == limits[1])
              and all(s <= lim for s, lim in zip(shape[2:], limits[2:])))
        return None if ok else f"the manifest declares at most {tuple(limits)} for this output at this case's size"

    return rule


def case_shape_rules(manifest: Mapping, batch: int, size: tuple[int, int]) -> tuple[dict[str, Rule], dict[str, Rule]]:
    """(input rules, output rules) for one reference case, from the manifest's declared inputs and outputs."""
    try:
        ins = {str(i["name"]): [int(d) for d in i["shape"]] for i in manifest["inputs"]}
        outs = {str(o["name"]): [int(d) for d in o["shape"]] for o in manifest["outputs"]}
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("manifest.json: every input and output needs a name and an integer shape; "
                             "re-export the bundle") from None
    if batch < 1 or min(size) < 1:
        raise IntegrityError(f"reference case batch {batch} and size {size} must be positive; re-export the bundle")
    in_rules = {n: _exact((batch, s[1], *size) if len(s) == 4 else (batch, *s[1:]), f"input {n!r}")
                for n, s in ins.items() if s}
    first = next(iter(ins.values()), [])
    export_hw = (first[2], first[3]) if len(first) == 4 else None
    out_rules = {n: _output_rule(batch, size, s, export_hw) for n, s in outs.items() if s}
    return in_rules, out_rules
