"""Publishing a bundle: one writer per folder, a swap that never leaves no folder, failed bundles kept apart."""

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from edgeattn.bundle import FORMAT, publish, recover
from edgeattn.bundle.publishing import OutputLock, failed_path, old_path
from edgeattn.errors import ResourceError


def _fill(folder, text):
    """model.onnx plus the smallest manifest that makes the folder recognisably an edgeattn bundle."""
    (folder / "model.onnx").write_text(text)
    (folder / "manifest.json").write_text(json.dumps({"format": FORMAT, "files": {"model.onnx": {}}}))


def _bundle(final, text):
    with publish(final) as pub:
        _fill(pub.staging, text)
    return pub


def test_publish_replaces_and_leaves_nothing_else(tmp_path):
    old = os.umask(0o022)
    try:
        pub = _bundle(tmp_path / "m", "v1")
        _bundle(tmp_path / "m", "v2")
    finally:
        os.umask(old)
    assert pub.destination == tmp_path / "m" and (tmp_path / "m" / "model.onnx").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no lock, staging or .old left
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o755


def test_an_error_keeps_the_previous_bundle(tmp_path):
    _bundle(tmp_path / "m", "good")
    with pytest.raises(RuntimeError), publish(tmp_path / "m") as pub:
        (pub.staging / "model.onnx").write_text("half")
        raise RuntimeError("boom")
    assert (tmp_path / "m" / "model.onnx").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_failed_bundle_is_kept_apart(tmp_path):
    _bundle(tmp_path / "m", "good")
    with publish(tmp_path / "m") as pub:
        (pub.staging / "model.onnx").write_text("bad")
        pub.failed = True
    assert pub.destination == failed_path(tmp_path / "m") == tmp_path / "m.failed"
    assert (tmp_path / "m" / "model.onnx").read_text() == "good"
    assert (tmp_path / "m.failed" / "model.onnx").read_text() == "bad"


def test_second_writer_is_refused_with_one_line(tmp_path):
    final = tmp_path / "m"
    with OutputLock(final):
        with pytest.raises(ResourceError) as info, publish(final):
            pass
    msg = str(info.value)
    assert f"pid {os.getpid()}" in msg and "another edgeattn process" in msg and "\n" not in msg
    _bundle(final, "after")  # released: the next writer proceeds


def test_second_writer_in_another_process(tmp_path):
    final = tmp_path / "m"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from edgeattn.bundle import publish
        from edgeattn.errors import ResourceError
        try:
            with publish(Path({str(final)!r})):
                pass
        except ResourceError as exc:
            print(exc)
            raise SystemExit(2)
    """)
    with OutputLock(final):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is writing" in proc.stdout


def test_crash_between_the_renames_is_recovered(tmp_path):
    """Fault injection: the process dies (os._exit, no cleanup) after the old bundle moved aside and before the
    new one moved in. The next writer restores the old one; the next run of anything that publishes recovers."""
    final = tmp_path / "m"
    _bundle(final, "good")
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        import edgeattn.bundle.publishing as p
        p._between_renames = lambda: os._exit(9)
        with p.publish(Path({str(final)!r})) as pub:
            (pub.staging / "model.onnx").write_text("new")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert not final.exists() and (old_path(final) / "model.onnx").read_text() == "good"
    assert any(p.name.startswith(".m.staging-") for p in tmp_path.iterdir())  # the new one, never swapped in
    assert {p.name for p in tmp_path.iterdir()} >= {".m.lock"}  # a dead writer's lock file, not held
    with OutputLock(final):
        notes = recover(final)
    assert (final / "model.onnx").read_text() == "good"
    assert any("restored" in n for n in notes) and any("stale staging" in n for n in notes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_crash_after_the_renames_leaves_old_to_sweep(tmp_path):
    final = tmp_path / "m"
    _bundle(final, "new")
    (old_path(final)).mkdir()
    _fill(old_path(final), "old")
    pub = _bundle(final, "newer")
    assert any("removed .m.old" in n for n in pub.notes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_disk_full_is_one_line_and_publishes_nothing(tmp_path, monkeypatch):
    _bundle(tmp_path / "m", "good")
    with pytest.raises(ResourceError) as info, publish(tmp_path / "m") as pub:
        raise OSError(errno.ENOSPC, "No space left on device", str(pub.staging / "model.onnx"))
    assert "no space left on the device" in str(info.value) and "\n" not in str(info.value)
    assert (tmp_path / "m" / "model.onnx").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_unwritable_parent_is_refused_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception) as info, publish(blocker / "m"):
        pytest.fail("the block must not run")
    assert "not writable" in str(info.value)
