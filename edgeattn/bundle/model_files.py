"""Every file a runtime opens to load a model must be a hashed file of the bundle: checked before it is loaded.

An ONNX model may keep tensors in other files (external data: `TensorProto.external_data["location"]`, relative
to the model's folder); ONNX Runtime, OpenVINO and TensorRT's parser open them while loading. `external_data(path)`
lists those locations by reading the protobuf wire format directly (the device side has no `onnx` package): it
walks exactly the messages that can hold tensors (graph initializers and sparse initializers, node attributes and
their subgraphs, functions, training info) and skips every other field by its length, so a large model costs a
walk over its field headers, not a parse. An OpenVINO IR (model.xml) loads the .bin beside it.

`check_model_files(folder, manifest, artefact)` refuses (IntegrityError, exit 2) an artefact that would open a
file not listed in the manifest's `files`, or a location that is absolute or leaves the bundle. verify then loads
a private copy of exactly the hashed bytes (model_copy.py), whose external data is listed from the copy again.
"""

from __future__ import annotations

import mmap
from pathlib import Path, PurePosixPath

from ..errors import IntegrityError

__all__ = ["external_data", "opened_files", "refuse_unhashed", "check_model_files"]

# message kind -> {field number: kind of the embedded message}; field numbers from onnx.proto (IR version <= 11)
_FIELDS: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "function": {7: "node", 11: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
_MAX_DEPTH = 64  # subgraphs inside attributes nest; a real model is a few levels deep


class _Malformed(ValueError):
    pass


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview, start: int, end: int):  # noqa: ANN202 - yields (field, wire type, start, end)
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(buf, pos, end)
            continue
        if wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise _Malformed("a field runs past the end of its message")
            yield number, pos, pos + length
            pos += length
            continue
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        if pos > end:
            raise _Malformed("a field runs past the end of its message")


def _entry(buf: memoryview, start: int, end: int) -> tuple[str, str]:
    key = value = ""
    for number, s, e in _fields(buf, start, end):
        if number in (1, 2):
            text = bytes(buf[s:e]).decode("utf-8", errors="replace")
            key, value = (text, value) if number == 1 else (key, text)
    return key, value


def external_data(path: Path) -> list[str]:
    """The external-data locations an ONNX file names (as written, deduplicated, sorted)."""
    path = Path(path)
    if path.stat().st_size == 0:
        return []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        buf = memoryview(mm)
        try:
            found: list[str] = []
            stack = [("model", 0, len(buf), 0)]
            while stack:
                kind, start, end, depth = stack.pop()
                if depth > _MAX_DEPTH:
                    raise _Malformed("messages nest deeper than any model")
                for number, s, e in _fields(buf, start, end):
                    child = _FIELDS[kind].get(number)
                    if child == "entry":
                        key, value = _entry(buf, s, e)
                        if key == "location" and value not in found:
                            found.append(value)
                    elif child is not None:
                        stack.append((child, s, e, depth + 1))
            return sorted(found)
        except _Malformed as exc:
            raise IntegrityError(f"{path} is not a valid ONNX file ({exc}); re-export the bundle") from None
        finally:
            buf.release()


def _inside(rel: str) -> bool:
    pp = PurePosixPath(rel)
    return bool(rel) and not pp.is_absolute() and ".." not in pp.parts and "\\" not in rel and "\0" not in rel


def opened_files(folder: Path, artefact: Path) -> list[str]:
    """Bundle-relative paths of the files loading `artefact` opens besides itself (IntegrityError when one would
    lie outside the bundle)."""
    folder, artefact = Path(folder), Path(artefact)
    base = artefact.parent.relative_to(folder).as_posix()
    if artefact.suffix == ".xml":  # OpenVINO IR: the weights beside it
        return [PurePosixPath(base, artefact.with_suffix(".bin").name).as_posix()]
    if artefact.suffix != ".onnx":
        return []
    out = []
    for loc in external_data(artefact):
        if not _inside(loc):
            raise IntegrityError(f"{artefact} names external data {loc[:200]!r}, which is not a path inside the "
                                 "bundle: refusing to load it (re-export the bundle with its data files beside it)")
        out.append(PurePosixPath(base, loc).as_posix())
    return out


def refuse_unhashed(folder: Path, manifest: dict, artefact: Path, opened: list[str]) -> list[str]:
    """The files of `opened` (bundle-relative, as `opened_files` lists them for `artefact`) that loading it needs
    copied: those manifest.json's `files` hashes. IntegrityError for any other one, except an IR's .bin that does
    not exist in the bundle at `folder` (an IR without weights opens nothing else)."""
    folder = Path(folder)
    needed = []
    for rel in opened:
        if rel in manifest["files"]:
            needed.append(rel)
            continue
        if Path(artefact).suffix == ".xml" and not (folder / rel).exists():
            continue
        raise IntegrityError(f"{Path(artefact).name} loads {rel}, which {folder / 'manifest.json'} does not hash: "
                             "refusing to load it (every file a model loads must be a hashed file of the bundle; "
                             "re-export the bundle)")
    return needed


def check_model_files(folder: Path, manifest: dict, artefact: Path) -> list[str]:
    """Refuse to load `artefact` if it would open a file that manifest.json's `files` does not hash (for an IR's
    .bin: one that exists). Returns the files it will open besides itself."""
    opened = opened_files(Path(folder), artefact)
    refuse_unhashed(folder, manifest, artefact, opened)
    return opened
