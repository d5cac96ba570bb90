"""The edgeattn engine file format: header + plan round trip, corruption detection, bare trtexec plans."""

import hashlib
import json
import struct

import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.tensorrt.engine_file import (
    FORMAT_VERSION,
    MAGIC,
    pack_engine,
    read_engine,
    read_engine_header,
    unpack_engine,
    write_engine,
)

PLAN = bytes(range(256)) * 40  # stands in for a serialized TensorRT plan (opaque bytes to the format)
META = {"model": "lga_mobilenet", "precision": "fp16", "profile": {"image": {"opt": [1, 3, 64, 96]}}}


def test_round_trip_and_documented_byte_layout(tmp_path):
    path = write_engine(tmp_path / "model.engine", PLAN, META)
    blob = path.read_bytes()
    magic, version, n = struct.unpack_from("<8sII", blob)
    assert (magic, version) == (MAGIC, FORMAT_VERSION) == (b"EATRTENG", 1)
    header = json.loads(blob[16:16 + n])
    assert blob[16 + n:] == PLAN
    assert header["plan_bytes"] == len(PLAN) and header["plan_sha256"] == hashlib.sha256(PLAN).hexdigest()
    got = read_engine(path)
    assert got.has_header and got.plan == PLAN and {k: got.metadata[k] for k in META} == META
    assert read_engine_header(path) == got.metadata
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temporary behind


def test_same_inputs_give_the_same_bytes():
    assert pack_engine(PLAN, META) == pack_engine(PLAN, dict(reversed(list(META.items()))))


def test_bare_trtexec_plan_is_accepted_without_metadata(tmp_path):
    (tmp_path / "model.engine").write_bytes(PLAN)
    got = read_engine(tmp_path / "model.engine")
    assert not got.has_header and got.metadata == {} and got.plan == PLAN
    assert read_engine_header(tmp_path / "model.engine") == {}


@pytest.mark.parametrize("damage, match", [
    (lambda b: b[:-1], "truncated copy"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "SHA-256"),
    (lambda b: b[:8] + struct.pack("<I", 2) + b[12:], "format version 2"),
    (lambda b: b[:12] + struct.pack("<I", 10**7) + b[16:], "corrupt engine header"),
    (lambda b: b[:16] + b"x" + b[17:], "not JSON"),
])
def test_damaged_files_are_rejected_with_a_fix(damage, match):
    with pytest.raises(InvalidOptionError, match=match):
        unpack_engine(damage(pack_engine(PLAN, META)))


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidOptionError, match="empty"):
        pack_engine(b"", META)
    with pytest.raises(InvalidOptionError, match="reserved"):
        pack_engine(PLAN, {"plan_sha256": "x"})
    with pytest.raises(InvalidOptionError, match="cannot read engine"):
        read_engine(tmp_path / "missing.engine")


def test_an_engine_or_timing_cache_over_its_bound_is_one_line_not_read_whole(tmp_path):
    """read_engine reads at most its bound (a file past it, or growing past it, is refused); so does the build's
    timing-cache reader. Small bounds stand in for the real ones (4 GiB, 256 MiB: docs/limits.md)."""
    from edgeattn.tensorrt.build import _read_timing_cache
    from edgeattn.tensorrt.engine_file import MAX_ENGINE_BYTES

    path = write_engine(tmp_path / "model.engine", PLAN, META)
    size = path.stat().st_size
    assert read_engine(path, limit=size).plan == PLAN
    with pytest.raises(InvalidOptionError, match=r"holds more than .* MiB.*rebuild it"):
        read_engine(path, limit=size - 1)
    assert MAX_ENGINE_BYTES == 4 << 30
    cache = tmp_path / "timing.cache"
    assert _read_timing_cache(cache) == b""  # absent: the build starts a new one
    cache.write_bytes(b"x" * 100)
    assert _read_timing_cache(cache, limit=100) == b"x" * 100
    with pytest.raises(InvalidOptionError, match="timing cache .* holds more than"):
        _read_timing_cache(cache, limit=99)
