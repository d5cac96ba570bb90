"""Whole-file reads on the verify/serve/device side never hold more than their bound (edgeattn/_bounded.py): the
bound is on what is read, so a file that grows after its size was checked, or a FIFO, cannot make them."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from edgeattn._bounded import FileTooLarge, read_bounded
from edgeattn.bundle import schema
from edgeattn.bundle.extensions import machine_arch, verified_library
from edgeattn.errors import IntegrityError


def test_read_bounded_reads_at_most_one_byte_past_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(path, 10) == b"x" * 10
    with pytest.raises(FileTooLarge):
        read_bounded(path, 9)
    with open(path, "r+b") as f:
        f.truncate(1 << 40)  # sparse 1 TiB: refused after reading 11 bytes, not after reading it all
    with pytest.raises(FileTooLarge):
        read_bounded(path, 10)


def test_strict_json_that_grows_past_its_bound_while_read_is_one_line(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO stands for a file that grows after its size check: stat says 0 bytes, the reader keeps getting more."""
    monkeypatch.setattr(schema, "MAX_JSON_BYTES", 1024)
    fifo = tmp_path / "device_files.json"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b" " * 4096 + b"{}"), daemon=True)
    writer.start()
    with pytest.raises(IntegrityError, match="grew past 0 MiB while it was read"):
        schema.load_json(fifo, "device record file")
    writer.join(timeout=10)


def test_an_extension_library_larger_than_recorded_is_refused_unread(tmp_path: Path) -> None:
    rel = "extensions/openvino/libedgeattn_openvino.so"
    lib = tmp_path / rel
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF library")
    manifest = {"files": {rel: {"sha256": hashlib.sha256(b"\x7fELF library").hexdigest(), "bytes": 12}},
                "extensions": {"openvino": {"file": rel, "arch": machine_arch()}}}
    copy = verified_library(tmp_path, manifest, "openvino", scratch=tmp_path)
    assert copy is not None and copy.read_bytes() == b"\x7fELF library"
    with open(lib, "r+b") as f:
        f.truncate(1 << 40)  # 1 TiB (sparse): refused as changed without reading it whole
    with pytest.raises(IntegrityError, match="changed since export"):
        verified_library(tmp_path, manifest, "openvino", scratch=tmp_path)
