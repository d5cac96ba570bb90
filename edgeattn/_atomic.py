"""Atomic file writes: build under a temporary name, then rename, so a crash never leaves a file that looks
complete. Whole folders (bundles) are published by `edgeattn.bundle.publish` (locked, crash-recovering swap)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_writable_dir", "check_output_file", "check_output_dir",
           "refuse_special", "disk_error", "sha256_file"]

# errno values that mean "this output cannot be written here" rather than a bug
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refuse_special(path: Path, what: str, hint: str) -> None:
    """Refuse (InvalidOptionError, one line) a `path` that exists as anything but a regular file: a symbolic link
    (even a dangling one), a folder, a FIFO, a socket or a device. edgeattn replaces only regular files, so a link
    never leads a write (or a truncation) to a file elsewhere, and a FIFO never blocks a reader or a writer."""
    from .errors import InvalidOptionError

    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # absent (a file above it is check_writable_dir's to name)
        return
    except OSError as exc:
        raise InvalidOptionError(f"{what} {str(path)!r} cannot be inspected ({exc.strerror}); {hint}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InvalidOptionError(f"{what} {str(path)!r} is a symbolic link; edgeattn never writes through links "
                                 f"(the file it points to would be replaced): {hint}")
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        raise InvalidOptionError(f"{what} {str(path)!r} is {kind}, not a regular file; {hint}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_output_file(path: Path, flag: str, hint: str = "") -> None:
    """Before any long work: `path` (an output file the user named with `flag`) can be written: it is absent or a
    regular file (never a link, folder, FIFO or device), and its folder is writable."""
    path = Path(path)
    hint = hint or f"pass {flag} with a new or regular file in a writable folder"
    refuse_special(path, flag, hint)
    check_writable_dir(path.parent, hint)


def check_output_dir(folder: Path, names: tuple[str, ...], flag: str = "--output") -> None:
    """Before any long work: `folder` can be written and none of the report files `names` it will hold exists as
    a link, folder, FIFO or device (they are replaced atomically at the end)."""
    folder = Path(folder)
    hint = f"pass {flag} with a writable folder where those names are free or regular files"
    check_writable_dir(folder, hint)
    for name in names:
        refuse_special(folder / name, f"{flag} file", hint)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    refuse_special(path, "output", "remove it or choose another output path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
            raise disk_error(exc, path) from None
        raise
    return path


def disk_error(exc: OSError, path: Path | str) -> Exception:
    """The one-line ResourceError for an OSError that means "cannot write here" (disk full, read-only, denied)."""
    from .errors import ResourceError

    what = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
            errno.EFBIG: "file too large for the file system"}.get(exc.errno, exc.strerror or str(exc))
    return ResourceError(f"cannot write {str(path)!r}: {what}; free space or choose another output folder "
                         "(nothing was published)")


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def check_writable_dir(folder: Path, hint: str = "pass --output DIR with a writable folder") -> None:
    """Prove, before any long work starts, that `folder` can be written (or created), without creating it.

    A missing folder is judged by its nearest existing ancestor, so a refused or failed job leaves no empty folder
    behind. Raises InvalidOptionError naming the folder, the OS reason and `hint`. Works for root too (a file where
    a folder must go, a read-only mount), where permission bits alone would not tell.
    """
    from .errors import InvalidOptionError

    folder = Path(folder)
    probe_dir = folder
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise InvalidOptionError(f"{str(folder)!r} is not writable ({str(probe_dir)!r} is a file, not a folder); "
                                 f"{hint}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".edgeattn-write-test-", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InvalidOptionError(f"{str(folder)!r} is not writable ({exc.strerror}); {hint}") from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
