"""Runtime extension libraries shipped in a bundle (the compiled custom-op kernels, edgeattn/native).

A bundle exported with `--target openvino --custom-ops` carries the OpenVINO extension library for its
architecture as an ordinary bundle file (so hashed in `files`) and describes it in the manifest:

    "extensions": {"openvino": {"file": "extensions/openvino/libedgeattn_openvino.so", "arch": "x86_64",
                                "openvino": "2026.4.1", "ops": [...], "domain": "edgeattn", "load": "..."}}

`verified_library` is the only way edgeattn loads such a file: it reads the bytes once, checks their SHA-256 and
size against the manifest, and writes exactly those bytes to a private temporary file, which is what the runtime
then loads. A library changed after export is refused before anything is loaded, and one swapped on disk after
the check cannot slip in. Device side: numpy-free, torch-free.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from .._bounded import FileTooLarge, read_bounded
from ..errors import IntegrityError, InvalidOptionError
from .layout import MANIFEST

__all__ = ["EXTENSIONS", "EXTENSIONS_DIR", "extension_entry", "extension_file", "verified_library", "machine_arch"]

EXTENSIONS = "extensions"  # the manifest key
EXTENSIONS_DIR = "extensions"  # the bundle folder
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def machine_arch() -> str:
    m = platform.machine().lower()
    return _ARCH.get(m, m)


def extension_file(runtime: str, name: str) -> str:
    """Bundle-relative path of a runtime's extension library."""
    return f"{EXTENSIONS_DIR}/{runtime}/{name}"


def extension_entry(folder: Path, manifest: Mapping, runtime: str) -> dict | None:
    """The manifest's entry for `runtime`'s extension library, checked for shape; None when the bundle has none."""
    section = manifest.get(EXTENSIONS) or {}
    if not isinstance(section, dict):
        raise IntegrityError(f"{folder}/{MANIFEST}: '{EXTENSIONS}' must be an object")
    entry = section.get(runtime)
    if entry is None:
        return None
    rel = entry.get("file") if isinstance(entry, dict) else None
    if not isinstance(rel, str) or PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        raise IntegrityError(f"{folder}/{MANIFEST}: {EXTENSIONS}[{runtime!r}] needs a 'file' inside the bundle")
    if rel not in manifest["files"]:
        raise IntegrityError(f"{folder}/{MANIFEST}: the {runtime} extension {rel} is not hashed in 'files'; "
                             "re-export the bundle")
    return entry


def verified_library(folder: Path, manifest: Mapping, runtime: str, scratch: Path | None = None) -> Path | None:
    """A private copy of the bundle's `runtime` extension library whose bytes match the manifest, or None.

    Raises IntegrityError for a changed library (before anything loads it) and InvalidOptionError for a library of
    another architecture than this machine's (it could not be loaded here). `scratch` is the folder for the copy
    (default: a new private temporary folder, removed when the process exits: a loaded library stays mapped).
    """
    entry = extension_entry(folder, manifest, runtime)
    if entry is None:
        return None
    rel = entry["file"]
    rec = manifest["files"][rel]
    try:
        data = read_bounded(Path(folder) / rel, rec["bytes"])  # never more than the manifest records
    except FileTooLarge:
        data = b""  # larger than recorded: changed
    except OSError as exc:
        raise IntegrityError(f"bundle {str(folder)!r}: cannot read {rel} ({exc.strerror})") from None
    if len(data) != rec["bytes"] or hashlib.sha256(data).hexdigest() != rec["sha256"]:
        raise IntegrityError(f"bundle {str(folder)!r} failed the integrity check: {rel} changed since export "
                             "(SHA-256 differs from manifest.json); it was not loaded. Re-copy or re-export the bundle")
    arch = entry.get("arch")
    if arch and arch != machine_arch():
        raise InvalidOptionError(f"bundle {str(folder)!r} carries its {runtime} extension for {arch}, this machine is "
                                 f"{machine_arch()}: verify it on a {arch} device (or under python -m "
                                 "edgeattn.emulate)")
    if scratch is None:
        scratch = Path(tempfile.mkdtemp(prefix="edgeattn-ext-"))
        atexit.register(shutil.rmtree, scratch, True)
    where = Path(scratch)
    fd, name = tempfile.mkstemp(suffix="-" + PurePosixPath(rel).name, dir=where)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(name, 0o500)
    return Path(name)
