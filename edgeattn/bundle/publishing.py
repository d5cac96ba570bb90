"""Publishing a bundle folder: one writer per output folder, staged, swapped in so that a folder always exists.

    with publish(Path("artifacts/lga_mobilenet")) as pub:
        ... write everything into pub.staging ...
        pub.failed = not parity_passed          # a failed bundle goes to <name>.failed/, the good one stays

- **Lock**: `<parent>/.<name>.lock` is held (fcntl.flock) for the whole job and removed after; a second writer
  gets a one-line ResourceError naming the lock and the holder's pid, before any work starts. A lock file left by
  a killed writer is not held (the kernel drops flocks with the process) and is simply taken over.
- **Swap**: the old folder is renamed to `.<name>.old`, the staged one to `<name>`, then the old one is deleted.
  A crash between the two renames leaves `.<name>.old` and no `<name>`: the next `publish`/`recover` (under the
  lock) renames it back, so a good bundle is never lost. A crash after both renames leaves `.<name>.old` beside the
  new folder: it is deleted. Staging folders `.<name>.staging-*` left by a killed writer are swept.
- **Failed verdicts**: with `pub.failed = True` the staged bundle becomes `<name>.failed/` (replacing an earlier
  one) and `<name>/` is left as it was.
- **Disk errors** (ENOSPC, EDQUOT, EROFS, EACCES) anywhere inside the block become one ResourceError line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._atomic import _DISK_ERRNOS, atomic_write_bytes, atomic_write_text, check_writable_dir, disk_error
from ..errors import ResourceError

__all__ = ["Publication", "OutputLock", "publish", "recover", "lock_path", "old_path", "failed_path",
           "staging_prefix", "atomic_write_bytes", "atomic_write_text"]

#: test hook: called between the two renames of the swap (fault injection); None in normal runs
_between_renames: Callable[[], None] | None = None


def lock_path(final: Path) -> Path:
    return final.parent / f".{final.name}.lock"


def old_path(final: Path) -> Path:
    return final.parent / f".{final.name}.old"


def failed_path(final: Path) -> Path:
    return final.parent / f"{final.name}.failed"


def staging_prefix(final: Path) -> str:
    return f".{final.name}.staging-"


class OutputLock:
    """An exclusive, non-blocking lock on one output folder (released when the process ends, even by SIGKILL)."""

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        self.path = lock_path(self.final)
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ResourceError(f"another edgeattn process (pid {holder}) is writing {str(self.final)!r} "
                                        f"(lock {self.path.name}); wait for it to finish or choose another --output"
                                        ) from None
                raise
            # The holder unlinks the lock file when it is done: if the path no longer names the file we locked,
            # we locked a dead inode; start again on the current one.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # while still held: a waiter re-checks the inode (see __enter__)
            os.close(self._fd)
            self._fd = None


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def recover(final: Path) -> list[str]:
    """Undo what a crashed writer left (call with the lock held); returns what was done, for the log."""
    final = Path(final)
    notes = []
    old = old_path(final)
    if old.exists():
        if not final.exists():
            os.replace(old, final)
            notes.append(f"restored {final.name} from {old.name} (an earlier run stopped between renames)")
        else:
            shutil.rmtree(old, ignore_errors=True)
            notes.append(f"removed {old.name} left by an earlier run")
    for stale in sorted(final.parent.glob(staging_prefix(final) + "*")):
        shutil.rmtree(stale, ignore_errors=True)
        notes.append(f"removed stale staging folder {stale.name}")
    if notes:
        _fsync_dir(final.parent)
    return notes


def _swap(staging: Path, final: Path) -> None:
    old = old_path(final)
    had_old = final.exists()
    if had_old:
        os.replace(final, old)
    if _between_renames is not None:
        _between_renames()
    os.replace(staging, final)
    _fsync_dir(final.parent)
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class Publication:
    staging: Path
    final: Path
    failed: bool = False  # set by the writer: publish to <name>.failed/ instead of replacing <name>/
    destination: Path | None = None  # where the bundle went (after the block)
    notes: list[str] = field(default_factory=list)  # what recover() did


@contextlib.contextmanager
def publish(final: Path, hint: str = "pass --output DIR with a writable folder") -> Iterator[Publication]:
    final = Path(final)
    check_writable_dir(final.parent, hint)
    with OutputLock(final):
        notes = recover(final)
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(final), dir=final.parent))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)  # mkdtemp makes 0700; give the folder the mode mkdir would
        pub = Publication(staging=staging, final=final, notes=notes)
        try:
            yield pub
            if pub.failed:
                dest = failed_path(final)
                if dest.exists():
                    shutil.rmtree(dest)
                os.replace(staging, dest)
                _fsync_dir(final.parent)
                pub.destination = dest
            else:
                _swap(staging, final)
                pub.destination = final
        except OSError as exc:
            if exc.errno in _DISK_ERRNOS:
                raise disk_error(exc, exc.filename or final) from None
            raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
