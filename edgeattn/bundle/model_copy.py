"""What verify checks is what the runtime loads: model files are copied, while they are hashed, into a private folder.

A runtime opens its model by path (model.onnx and its external data, model.xml and model.bin, model.engine), so a
file hashed in the bundle and then opened there again could be swapped in between. `private_model_tree()` makes a
private temporary folder (mode 0700, removed afterwards even on error) and `copy_model(folder, manifest, artefact,
scratch)` copies the artefact into it with the bundle's relative layout, reading each file ONCE from one open file
descriptor: the bytes are hashed as they are written, and the copy is refused (IntegrityError, exit 2) unless they
are exactly the manifest's SHA-256 and size. The files the artefact loads besides itself (ONNX external data, found
by parsing the COPY; an IR's .bin) are copied the same way, so they resolve beside the copy. The runtime then loads
the copy; nothing in the bundle is opened by path after its bytes were checked (the compiled kernel libraries do
the same: extensions.py).

Bounds: a file is read up to the size the manifest records for it (at most the schema's 1 TiB per file) plus one
byte, whatever it grows to, and a copy that would not fit in the temporary folder's free space is refused
(ResourceError, exit 2) before it is written. Device side: no numpy, no torch, no onnx.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ..errors import IntegrityError, ResourceError
from .layout import MANIFEST
from .model_files import opened_files, refuse_unhashed

__all__ = ["private_model_tree", "copy_model", "copy_hashed", "read_hashed", "max_file_bytes"]

_CHUNK = 1 << 20
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO swapped in must not block; fstat then refuses it


def max_file_bytes() -> int:
    """The largest file a manifest may record (manifest.schema.json, `$defs/bytes`: 1 TiB)."""
    from .schema import manifest_schema

    return int(manifest_schema()["$defs"]["bytes"]["maximum"])


@contextlib.contextmanager
def private_model_tree(prefix: str = "edgeattn-verify-") -> Iterator[Path]:
    """A new private temporary folder (mode 0700, in TMPDIR), removed with everything in it on exit, error or not."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _changed(folder: Path, rel: str, detail: str) -> IntegrityError:
    return IntegrityError(f"bundle {str(folder)!r} failed the integrity check: {rel} {detail} (SHA-256 or size "
                          f"differs from {MANIFEST}); it was not loaded. Re-copy or re-export the bundle")


def _read_checked(folder: Path, rel: str, expected: int, digest: str, sink: Callable[[bytes], object]) -> None:
    """Hand bundle file `rel` to `sink` block by block, from one open file descriptor (no link, no FIFO), at most one
    byte past the recorded size however large the file grew; IntegrityError unless the bytes were exactly
    `expected` long with SHA-256 `digest`."""
    try:
        src = os.open(folder / rel, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK)
    except OSError as exc:
        raise IntegrityError(f"bundle {str(folder)!r}: cannot open {rel} ({exc.strerror}): a bundle file must be a "
                             "regular file, not a link; re-copy or re-export the bundle") from None
    h, n = hashlib.sha256(), 0
    try:
        if not stat.S_ISREG(os.fstat(src).st_mode):
            raise IntegrityError(f"bundle {str(folder)!r}: {rel} is not a regular file; re-copy or re-export the "
                                 "bundle")
        while n <= expected:
            block = os.read(src, min(_CHUNK, expected + 1 - n))
            if not block:
                break
            h.update(block)
            sink(block)
            n += len(block)
    finally:
        os.close(src)
    if n != expected or h.hexdigest() != digest:
        raise _changed(folder, rel, "changed after the integrity check" if n <= expected
                       else "grew after the integrity check")


def copy_hashed(folder: Path, rel: str, record: Mapping, scratch: Path) -> Path:
    """Copy bundle file `rel` to the same relative path under `scratch`, from one open file descriptor, hashing the
    bytes as they are written; IntegrityError unless they are exactly `record` ({sha256, bytes}). Returns the copy."""
    folder, scratch = Path(folder), Path(scratch)
    expected, digest = int(record["bytes"]), str(record["sha256"])
    if expected > max_file_bytes():
        raise _changed(folder, rel, f"is recorded as {expected} bytes, more than any bundle file may be")
    free = shutil.disk_usage(scratch).free
    if expected > free:
        raise ResourceError(f"verify copies {rel} ({expected >> 20} MiB) into a private temporary folder, but "
                            f"{scratch.parent} has {free >> 20} MiB free: set TMPDIR to a folder with more space")
    dst = scratch / rel
    if dst.exists():  # copied (and checked) already for another runtime: the private folder holds nothing else
        return dst
    dst.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
        with os.fdopen(out, "wb") as f:
            _read_checked(folder, rel, expected, digest, f.write)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    os.chmod(dst, 0o400)
    return dst


def read_hashed(folder: Path, rel: str, record: Mapping, limit: int) -> bytes:
    """The bytes of bundle file `rel`, read once from one open file descriptor and checked against `record`
    ({sha256, bytes}) before they are returned: what the caller parses is what was hashed (the reference cases).
    `limit`: the most bytes the caller accepts (checked against the record before reading)."""
    folder = Path(folder)
    expected, digest = int(record["bytes"]), str(record["sha256"])
    if expected > limit:
        raise _changed(folder, rel, f"is recorded as {expected} bytes, more than the {limit} this file may hold")
    chunks: list[bytes] = []
    _read_checked(folder, rel, expected, digest, chunks.append)
    return b"".join(chunks)


def copy_model(folder: Path, manifest: Mapping, artefact: Path, scratch: Path) -> Path:
    """Copy `artefact` (a hashed file of the bundle at `folder`) and every file it loads besides itself into
    `scratch`, each checked against the manifest while it is copied; returns the copy of the artefact, which is
    what the runtime must load. The files it loads are found from the copied bytes, not from the bundle."""
    folder = Path(folder)
    rel = Path(artefact).relative_to(folder).as_posix()
    listed = {**manifest["files"], **(manifest.get("device_files") or {})}
    if rel not in listed:
        raise IntegrityError(f"{rel} is not hashed in {folder / MANIFEST}: refusing to load it; re-export the "
                             "bundle")
    copy = copy_hashed(folder, rel, listed[rel], scratch)
    opened = [o for o in opened_files(scratch, copy) if o != rel]
    for other in refuse_unhashed(folder, manifest, copy, opened):
        copy_hashed(folder, other, manifest["files"][other], scratch)
    return copy
