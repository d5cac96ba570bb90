"""Atomic writes keep the usual file modes and leave nothing behind on failure."""

import os
import stat

import pytest

from edgeattn._atomic import atomic_write_text, staging_dir


def test_modes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.json", "{}")
        with staging_dir(tmp_path / "out") as stage:
            (stage / "x").write_text("1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_failed_staging_leaves_the_old_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "keep").write_text("old")
    with pytest.raises(RuntimeError), staging_dir(final) as stage:
        (stage / "keep").write_text("new")
        raise RuntimeError("boom")
    assert (final / "keep").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
