"""What edgeattn may replace or delete: only what it published itself.

A publisher (export, `serve export`, the crash recovery of `publish`) asks `refuse_foreign(path, ...)` before it
takes anything away. A path that does not exist, or an empty folder, holds nothing of anyone's. Otherwise the
path must be a real folder (never a symbolic link, a file or a special file) that the publisher's `owned` rule
recognises; the default rule, `bundle_reason`, recognises an edgeattn bundle: a `manifest.json` of this format
that lists every file in the folder. Anything else is refused with one line (exit status 2) naming the path and
what is in it; nothing is deleted.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from .._bounded import FileTooLarge, read_bounded
from ..errors import InvalidOptionError
from .layout import FORMAT, MANIFEST
from .schema import MAX_JSON_BYTES

__all__ = ["Owned", "bundle_reason", "refuse_foreign", "walk_entries", "MAX_MANIFEST_BYTES"]

#: returns None when `folder` is what the publisher wrote, else why it is not (for the message)
Owned = Callable[[Path], "str | None"]

#: manifest.json is read whole: a larger file is not one edgeattn wrote (a real manifest is tens of KiB); one bound
#: for every manifest read (bundle/schema.py)
MAX_MANIFEST_BYTES = MAX_JSON_BYTES


def walk_entries(folder: Path, limit: int = 100_000) -> tuple[list[str], list[str]]:
    """(regular files, other entries) under `folder` as relative posix paths; links and special files are
    'other' and never followed. Stops at `limit` entries (a folder that large is not a bundle)."""
    files, other = [], []
    stack = [Path(folder)]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                rel = Path(e.path).relative_to(folder).as_posix()
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    files.append(rel)
                else:
                    other.append(rel)
                if len(files) + len(other) > limit:
                    return files, [*other, f"(more than {limit} entries)"]
    return sorted(files), sorted(other)


def _names(items: list[str], limit: int = 4) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def bundle_reason(folder: Path) -> str | None:
    """None for an edgeattn bundle (manifest.json of this format listing every file in the folder), else why not."""
    path = Path(folder) / MANIFEST
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"no {MANIFEST}"
    if not stat.S_ISREG(st.st_mode):
        return f"{MANIFEST} is not a regular file"
    if st.st_size > MAX_MANIFEST_BYTES:
        return f"{MANIFEST} is larger than any manifest edgeattn writes"
    try:
        manifest = json.loads(read_bounded(path, MAX_MANIFEST_BYTES).decode("utf-8"))
    except FileTooLarge:
        return f"{MANIFEST} is larger than any manifest edgeattn writes"
    except (OSError, UnicodeDecodeError, ValueError):
        return f"{MANIFEST} is not readable JSON"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"{MANIFEST} is not an {FORMAT} manifest"
    listed = set()
    for key in ("files", "device_files"):
        section = manifest.get(key)
        if isinstance(section, dict):
            listed.update(section)
    files, other = walk_entries(Path(folder))
    foreign = [f for f in files if f != MANIFEST and f not in listed] + other
    if foreign:
        return f"it holds entries its manifest does not list: {_names(foreign)}"
    return None


def refuse_foreign(path: Path, what: str, owned: Owned, hint: str) -> None:
    """Raise InvalidOptionError unless `path` is absent, an empty real folder, or a folder `owned` recognises."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise InvalidOptionError(f"{str(path)!r} is a symbolic link, not {what}; edgeattn replaces only folders it "
                                 f"published and never follows links there: {hint}")
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidOptionError(f"{str(path)!r} exists and is not a folder (a file or special file), so it is not "
                                 f"{what}; edgeattn will not move or delete it: {hint}")
    with os.scandir(path) as it:
        if next(it, None) is None:
            return
    reason = owned(path)
    if reason:
        raise InvalidOptionError(f"{str(path)!r} exists but is not {what} ({reason}); edgeattn never deletes or "
                                 f"replaces what it did not publish: {hint}")
