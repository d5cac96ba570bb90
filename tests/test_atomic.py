"""Atomic writes keep the usual file modes, leave nothing behind on failure, and turn a full disk into one line."""

import errno
import os
import stat

import pytest

from edgeattn._atomic import atomic_write_text
from edgeattn.errors import ResourceError


def test_modes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(ResourceError, match="no space left") as info:
        atomic_write_text(tmp_path / "a.json", "{}")
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []
