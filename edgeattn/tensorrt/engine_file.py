"""The edgeattn engine file: a TensorRT plan behind a small JSON metadata header.

A TensorRT plan says nothing a user can read about where it came from, and it only runs on the GPU model and
TensorRT version that built it. edgeattn therefore writes engines as

    offset  size  content
    0       8     magic b"EATRTENG"
    8       4     format version, uint32 little-endian (currently 1)
    12      4     header length N in bytes, uint32 little-endian (N <= 1 MiB)
    16      N     header: a UTF-8 JSON object (sorted keys), at least {"plan_bytes", "plan_sha256"}; edgeattn adds
                  the model, precision, profile shapes, input/output names, TensorRT version and the GPU name
    16+N    ...   the serialized TensorRT plan, exactly `plan_bytes` bytes, to the end of the file

Readers check the magic, the version, the length and the plan's SHA-256. A file without the magic is taken as a
bare plan (e.g. from `trtexec --saveEngine`) with empty metadata, so both kinds load in the runner. Files are
written atomically (temporary name, then rename).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write_bytes
from ..errors import InvalidOptionError

__all__ = ["MAGIC", "FORMAT_VERSION", "MAX_HEADER_BYTES", "EngineFile", "pack_engine", "unpack_engine",
           "write_engine", "read_engine", "read_engine_header"]

MAGIC = b"EATRTENG"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 1 << 20
# The largest engine file read: TensorRT plans of the models here are MBs to 100s of MB; 4 GiB is far above any
# of them and below the memory of every Jetson it could run on (docs/limits.md).
MAX_ENGINE_BYTES = 4 << 30
_PREFIX = struct.Struct("<8sII")  # magic, version, header length: 16 bytes


@dataclass(frozen=True)
class EngineFile:
    metadata: dict  # {} for a bare plan
    plan: bytes
    has_header: bool


def pack_engine(plan: bytes, metadata: dict) -> bytes:
    """Header + plan as bytes. `metadata` must be JSON-serialisable; plan_bytes/plan_sha256 are filled in."""
    plan = bytes(plan)
    if not plan:
        raise InvalidOptionError("refusing to write an empty TensorRT plan (the build failed)")
    reserved = {"plan_bytes", "plan_sha256", "format_version"} & set(metadata)
    if reserved:
        raise InvalidOptionError(f"engine metadata keys {sorted(reserved)} are reserved for the file format")
    meta = {**metadata, "format_version": FORMAT_VERSION, "plan_bytes": len(plan),
            "plan_sha256": hashlib.sha256(plan).hexdigest()}
    header = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(header) > MAX_HEADER_BYTES:
        raise InvalidOptionError(f"engine metadata is {len(header)} bytes; the format allows {MAX_HEADER_BYTES}")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header + plan


def _parse_header(blob: bytes, where: str) -> tuple[dict, int] | None:
    """(metadata, plan offset) from the first bytes of a file, or None for a bare plan."""
    if len(blob) < _PREFIX.size or not blob.startswith(MAGIC):
        return None
    _, version, n = _PREFIX.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise InvalidOptionError(f"{where}: engine file format version {version} is not supported "
                                 f"(this edgeattn reads version {FORMAT_VERSION}); rebuild the engine")
    if n > MAX_HEADER_BYTES or len(blob) < _PREFIX.size + n:
        raise InvalidOptionError(f"{where}: truncated or corrupt engine header ({n} bytes announced); "
                                 "rebuild the engine")
    try:
        meta = json.loads(blob[_PREFIX.size:_PREFIX.size + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidOptionError(f"{where}: engine header is not JSON ({exc}); rebuild the engine") from None
    if not isinstance(meta, dict) or "plan_bytes" not in meta or "plan_sha256" not in meta:
        raise InvalidOptionError(f"{where}: engine header lacks plan_bytes/plan_sha256; rebuild the engine")
    return meta, _PREFIX.size + n


def unpack_engine(blob: bytes, where: str = "engine") -> EngineFile:
    """Split and verify the bytes of an engine file (or accept a bare plan)."""
    parsed = _parse_header(blob, where)
    if parsed is None:
        if not blob:
            raise InvalidOptionError(f"{where}: empty engine file; rebuild the engine")
        return EngineFile({}, bytes(blob), has_header=False)
    meta, offset = parsed
    plan = bytes(blob[offset:])
    if len(plan) != meta["plan_bytes"]:
        raise InvalidOptionError(f"{where}: plan is {len(plan)} bytes, header says {meta['plan_bytes']} "
                                 "(truncated copy?); copy or rebuild the engine")
    if hashlib.sha256(plan).hexdigest() != meta["plan_sha256"]:
        raise InvalidOptionError(f"{where}: plan SHA-256 does not match its header (corrupt copy); "
                                 "copy or rebuild the engine")
    return EngineFile(meta, plan, has_header=True)


def write_engine(path: Path, plan: bytes, metadata: dict) -> Path:
    """Write header + plan to `path` atomically."""
    return atomic_write_bytes(Path(path), pack_engine(plan, metadata))


def read_engine(path: Path, limit: int | None = None) -> EngineFile:
    """The engine file at `path`, read whole but never more than `limit` bytes (MAX_ENGINE_BYTES)."""
    from .._bounded import FileTooLarge, read_bounded

    path, limit = Path(path), MAX_ENGINE_BYTES if limit is None else limit
    try:
        blob = read_bounded(path, limit)
    except FileTooLarge:
        raise InvalidOptionError(f"engine {str(path)!r} holds more than {limit >> 20} MiB, more than any engine "
                                 "edgeattn builds: rebuild it with build_engine.sh or python -m "
                                 "edgeattn.tensorrt.build") from None
    except OSError as exc:
        raise InvalidOptionError(f"cannot read engine {str(path)!r} ({exc.strerror}); build it with "
                                 "build_engine.sh or python -m edgeattn.tensorrt.build") from None
    return unpack_engine(blob, str(path))


def read_engine_header(path: Path) -> dict:
    """Only the metadata ({} for a bare plan), reading just the header bytes (plans can be 100s of MB)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            prefix = f.read(_PREFIX.size)
            n = _PREFIX.unpack(prefix)[2] if len(prefix) == _PREFIX.size and prefix.startswith(MAGIC) else 0
            blob = prefix + f.read(min(n, MAX_HEADER_BYTES + 1))
    except OSError as exc:
        raise InvalidOptionError(f"cannot read engine {str(path)!r} ({exc.strerror})") from None
    parsed = _parse_header(blob, str(path))
    return {} if parsed is None else parsed[0]
