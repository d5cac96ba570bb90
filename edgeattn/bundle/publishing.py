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
- **Only its own**: the lock file is opened without following links and must be a regular, singly linked file
  holding a pid (a link, folder, FIFO or someone's file there: one line, exit 2, nothing truncated). An existing
  `<name>/`, `<name>.failed/` or `.<name>.old` is replaced only when it is what this publisher wrote (for
  bundles: a manifest.json listing every file; see `ownership.py`) or an empty folder; anything else (a file, a
  link, a foreign folder) is refused before any work, and never moved or deleted.
- **Disk errors** (ENOSPC, EDQUOT, EROFS, EACCES) anywhere inside the block become one ResourceError line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._atomic import (_DISK_ERRNOS, atomic_write_bytes, atomic_write_text, check_writable_dir, disk_error,
                       refuse_special)
from ..errors import InvalidOptionError, ResourceError
from .ownership import Owned, bundle_reason, refuse_foreign

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


_LOCK_HINT = "remove it (edgeattn makes its own lock file) or choose another --output"


def _open_lock(path: Path) -> int:
    """Open (creating) the lock file without following a link and without blocking on a FIFO; refuse anything that
    is not a regular file with one link, so that taking the lock never truncates a file edgeattn did not make."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EOPNOTSUPP, errno.ENOTDIR):
            refuse_special(path, "lock file", _LOCK_HINT)  # names what it is (link, folder, socket, ...)
            raise InvalidOptionError(f"lock file {str(path)!r} cannot be opened ({exc.strerror}); {_LOCK_HINT}"
                                     ) from None
        if exc.errno in _DISK_ERRNOS:
            raise disk_error(exc, path) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:  # 0: the holder just unlinked it; __enter__ retries
        os.close(fd)
        if stat.S_ISREG(st.st_mode):
            raise InvalidOptionError(f"lock file {str(path)!r} has {st.st_nlink} hard links (another file shares "
                                     f"its data, and taking the lock would truncate it); {_LOCK_HINT}")
        refuse_special(path, "lock file", _LOCK_HINT)
        raise InvalidOptionError(f"lock file {str(path)!r} is not a regular file; {_LOCK_HINT}")
    return fd


def _check_lock_content(fd: int, path: Path) -> None:
    """A lock file edgeattn made holds a pid (or nothing, just created): anything else is someone's file."""
    data = os.pread(fd, 65, 0)
    if len(data) > 20 or not data.strip().isdigit() and data.strip():
        raise InvalidOptionError(f"lock file {str(path)!r} holds data that is not a process id: it is not edgeattn's "
                                 f"lock, and taking the lock would truncate it; {_LOCK_HINT}")


class OutputLock:
    """An exclusive, non-blocking lock on one output folder (released when the process ends, even by SIGKILL)."""

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        self.path = lock_path(self.final)
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        while True:
            fd = _open_lock(self.path)
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
                same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            _check_lock_content(fd, self.path)  # held: nobody writes it now
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(self._fd).st_ino:
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


def recover(final: Path, owned: Owned = bundle_reason, what: str = "an edgeattn bundle") -> list[str]:
    """Undo what a crashed writer left (call with the lock held); returns what was done, for the log.

    `.<name>.old` is restored or deleted only when `owned` recognises it (else InvalidOptionError, nothing moved);
    stale staging folders are real folders named `.<name>.staging-*` (links and files there are left alone)."""
    final = Path(final)
    notes = []
    old = old_path(final)
    if os.path.lexists(old):
        refuse_foreign(old, what, owned, f"move {old.name} away (edgeattn keeps it there only during a swap)")
        if not os.path.lexists(final):
            os.replace(old, final)
            notes.append(f"restored {final.name} from {old.name} (an earlier run stopped between renames)")
        else:
            shutil.rmtree(old, ignore_errors=True)
            notes.append(f"removed {old.name} left by an earlier run")
    for stale in sorted(final.parent.glob(staging_prefix(final) + "*")):
        if stale.is_symlink() or not stale.is_dir():
            continue
        shutil.rmtree(stale, ignore_errors=True)
        notes.append(f"removed stale staging folder {stale.name}")
    if notes:
        _fsync_dir(final.parent)
    return notes


def _swap(staging: Path, final: Path) -> None:
    old = old_path(final)
    had_old = os.path.lexists(final)
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
def publish(final: Path, hint: str = "pass --output DIR with a writable folder", *, owned: Owned = bundle_reason,
            what: str = "an edgeattn bundle") -> Iterator[Publication]:
    """Lock, check, stage, swap (module docstring). `owned` says whether an existing `final` (and `.<name>.old`,
    `<name>.failed`) is what this publisher wrote: anything else is refused before the block runs."""
    final = Path(final)
    check_writable_dir(final.parent, hint)
    created = [p for p in (final.parent, *final.parent.parents) if not p.exists()]  # made here, removed on failure
    try:
        with _publish_locked(final, owned, what) as pub:
            yield pub
    except BaseException:
        for folder in created:  # innermost first; only folders this job made and left empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


@contextlib.contextmanager
def _publish_locked(final: Path, owned: Owned, what: str) -> Iterator[Publication]:
    final.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(final):
        hint = "move it away or choose another --output"
        refuse_foreign(final, what, owned, hint)  # before any work: nothing of the user's is ever replaced
        refuse_foreign(failed_path(final), what, owned, hint)
        notes = recover(final, owned, what)
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(final), dir=final.parent))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)  # mkdtemp makes 0700; give the folder the mode mkdir would
        pub = Publication(staging=staging, final=final, notes=notes)
        try:
            yield pub
            if pub.failed:
                dest = failed_path(final)
                if os.path.lexists(dest):
                    refuse_foreign(dest, what, owned, hint)  # again: it may have appeared during the job
                    shutil.rmtree(dest)
                os.replace(staging, dest)
                _fsync_dir(final.parent)
                pub.destination = dest
            else:
                refuse_foreign(final, what, owned, hint)  # again: it may have changed during the job
                _swap(staging, final)
                pub.destination = final
        except OSError as exc:
            if exc.errno in _DISK_ERRNOS:
                raise disk_error(exc, exc.filename or final) from None
            raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
