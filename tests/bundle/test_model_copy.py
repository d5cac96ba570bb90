"""The private copy a runtime loads (edgeattn/bundle/model_copy.py): exactly the hashed bytes, read once from one
file descriptor and bounded by the recorded size, in a folder only this user can reach, removed afterwards."""

from __future__ import annotations

import hashlib
import os
import stat
from collections import namedtuple

import pytest

from edgeattn.bundle import model_copy
from edgeattn.bundle.model_copy import copy_hashed, copy_model, max_file_bytes, private_model_tree
from edgeattn.errors import IntegrityError, ResourceError

DATA = b"hashed bytes of a model\n" * 100


def _record(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


@pytest.fixture
def bundle(tmp_path):
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "model.engine").write_bytes(DATA)
    return folder


def test_the_copy_is_the_hashed_bytes_read_only_in_a_private_folder(bundle):
    with private_model_tree() as scratch:
        assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
        copy = copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)
        assert copy == scratch / "sub" / "model.engine" and copy.read_bytes() == DATA
        assert stat.S_IMODE(copy.stat().st_mode) == 0o400
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert not scratch.exists()


def test_the_private_folder_is_removed_on_error():
    with pytest.raises(KeyboardInterrupt), private_model_tree() as scratch:
        (scratch / "f").write_bytes(b"x")
        raise KeyboardInterrupt
    assert not scratch.exists()


@pytest.mark.parametrize("on_disk, why", [
    (DATA[:-1] + b"?", "changed after the integrity check"),  # same size, other bytes
    (DATA[:-1], "changed after the integrity check"),  # shorter
    (DATA + b"more", "grew after the integrity check"),
])
def test_bytes_other_than_the_record_are_refused_and_not_left_behind(on_disk, why, bundle, tmp_path):
    (bundle / "sub" / "model.engine").write_bytes(on_disk)
    with private_model_tree() as scratch:
        with pytest.raises(IntegrityError, match=why):
            copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)
        assert not (scratch / "sub" / "model.engine").exists()


def test_a_file_that_grew_huge_is_read_only_to_its_recorded_size(bundle, monkeypatch):
    with open(bundle / "sub" / "model.engine", "r+b") as f:
        f.truncate(1 << 40)  # sparse: 1 TiB declared, nothing on disk
    reads = []
    real_read = os.read
    monkeypatch.setattr(model_copy.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="grew after the integrity check"):
        copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)
    assert sum(reads) <= len(DATA) + 1


def test_a_link_or_a_fifo_swapped_in_is_refused_without_blocking(bundle, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_bytes(DATA)
    (bundle / "sub" / "model.engine").unlink()
    (bundle / "sub" / "model.engine").symlink_to(target)
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="cannot open sub/model.engine"):
        copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)
    (bundle / "sub" / "model.engine").unlink()
    os.mkfifo(bundle / "sub" / "model.engine")
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="is not a regular file"):
        copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)


def test_a_copy_that_does_not_fit_the_temporary_folder_is_one_line(bundle, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(model_copy.shutil, "disk_usage", lambda p: usage(10, 10, 0))
    with private_model_tree() as scratch, pytest.raises(ResourceError, match="set TMPDIR"):
        copy_hashed(bundle, "sub/model.engine", _record(DATA), scratch)


def test_a_record_beyond_the_schema_bound_is_refused(bundle):
    record = dict(_record(DATA), bytes=max_file_bytes() + 1)
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="more than any bundle file may be"):
        copy_hashed(bundle, "sub/model.engine", record, scratch)


def test_an_ir_copies_its_hashed_weights_and_needs_none(tmp_path):
    folder = tmp_path / "ir"
    folder.mkdir()
    (folder / "model.xml").write_bytes(b"<net/>")
    (folder / "model.bin").write_bytes(DATA)
    manifest = {"files": {"model.xml": _record(b"<net/>"), "model.bin": _record(DATA)}}
    with private_model_tree() as scratch:
        copy = copy_model(folder, manifest, folder / "model.xml", scratch)
        assert copy.read_bytes() == b"<net/>" and (scratch / "model.bin").read_bytes() == DATA
    (folder / "model.bin").unlink()
    del manifest["files"]["model.bin"]
    with private_model_tree() as scratch:
        copy_model(folder, manifest, folder / "model.xml", scratch)
        assert sorted(p.name for p in scratch.iterdir()) == ["model.xml"]


def test_an_unhashed_artefact_or_weights_file_is_refused(tmp_path):
    folder = tmp_path / "ir"
    folder.mkdir()
    (folder / "model.xml").write_bytes(b"<net/>")
    (folder / "model.bin").write_bytes(DATA)
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="model.xml is not hashed"):
        copy_model(folder, {"files": {}}, folder / "model.xml", scratch)
    with private_model_tree() as scratch, pytest.raises(IntegrityError, match="model.xml loads model.bin, which"):
        copy_model(folder, {"files": {"model.xml": _record(b"<net/>")}}, folder / "model.xml", scratch)
