"""Reading a whole file, but never more than a bound: the bound is on what is read, from one open file, so a file
that grows after a size check (or a FIFO or device that never ends) cannot make the reader hold more than it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FileTooLarge", "read_bounded"]


class FileTooLarge(ValueError):
    """The file holds more than the bound; callers turn it into their own one-line error."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"{path} holds more than {limit} bytes")
        self.path, self.limit = Path(path), limit


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of `path`, at most `limit` of them; FileTooLarge when it holds more, OSError as open() raises it."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(Path(path), limit)
    return data
