"""A progress bar for long benchmark runs: rich's on a terminal, plain lines otherwise (or a callback)."""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["ProgressBar"]


class ProgressBar:
    """`describe(text)` names the current step, `advance(n)` counts finished cases out of `total`."""

    def __init__(self, total: int, callback: Callable[[str], None] | None = None) -> None:
        self.total, self.done, self.callback = total, 0, callback
        self._rich = None
        self._task = None

    def __enter__(self) -> ProgressBar:
        if self.callback is None and sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            except ImportError:
                pass
            else:
                self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True), transient=False)
                self._rich.start()
                self._task = self._rich.add_task("benchmark", total=self.total)
        return self

    def describe(self, text: str) -> None:
        if self._rich is not None:
            self._rich.update(self._task, description=text)
        else:
            line = f"[{self.done}/{self.total}] {text}"
            (self.callback or (lambda s: print(s, file=sys.stderr, flush=True)))(line)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.advance(self._task, n)

    def report(self, text: str) -> None:
        """A finished case's result, printed above the bar (or as a plain line)."""
        if self._rich is not None:
            self._rich.console.print(f"  {text}")
        else:
            (self.callback or (lambda s: print(s, file=sys.stderr, flush=True)))(f"  {text}")

    def finish(self) -> None:
        """Say that every case has run: the count reaches N/N."""
        if self._rich is None:
            (self.callback or (lambda s: print(s, file=sys.stderr, flush=True)))(
                f"[{self.done}/{self.total}] done")

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()
