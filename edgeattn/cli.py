"""What every edgeattn command line shares: one error format, one exit-status table, one runtime vocabulary.

Every CLI (`python -m edgeattn.export|verify|parity|bench|train|serve`) builds its parser with `ArgumentParser`
(usage errors become one line plus a hint, exit 2) and wraps its body in `run_cli` (an `EdgeAttnError` becomes
one line with the error's exit status; Ctrl-C exits 130; running out of memory or disk says so in one line).
Numbers a user sets are bounded at parse time by `threads_arg`, `int_arg` and `float_arg` (`check_range` for
library entry points): one line naming the flag and the range, exit 2 (docs/limits.md lists every bound).
Numpy-only on purpose: `edgeattn.verify` imports it on hosts without PyTorch.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from collections.abc import Callable, Iterable

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_VERIFIED,
    EXIT_OK,
    EdgeAttnError,
    InvalidOptionError,
    suggest,
    unknown,
)

__all__ = [
    "EXIT_STATUS_HELP",
    "MAX_SERVER_THREADS",
    "THREADS_PER_CPU",
    "check_threads",
    "max_threads",
    "threads_arg",
    "check_range",
    "int_arg",
    "float_arg",
    "RUNTIME_ALIASES",
    "ArgumentParser",
    "canonical_runtime",
    "choice_arg",
    "names_arg",
    "parse_runtimes",
    "spaces_hint",
    "print_error",
    "run_cli",
]

#: the one exit-status table, printed at the end of every --help
EXIT_STATUS_HELP = f"""exit status (the same for every edgeattn command):
  {EXIT_OK}    passed: every requested check ran and passed
  {EXIT_FAILED}    a check ran and failed (parity, accuracy bound); what was written is kept apart and named
  {EXIT_BAD_INPUT}    bad input or an integrity failure; one line says what and how to fix it
  {EXIT_NOT_VERIFIED}    NOT VERIFIED: nothing failed, but a requested runtime could not run on this host
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); nothing half-written is left looking complete"""

#: other spellings users type for a runtime -> the canonical name every CLI, report and manifest uses
RUNTIME_ALIASES: dict[str, str] = {
    "trt": "tensorrt",
    "onnxruntime": "ort",
    "ov": "openvino",
    "pytorch": "torch",
    "eager": "torch",
    "onnx-reference": "reference",
}


def canonical_runtime(name: str) -> str:
    """'trt' -> 'tensorrt', 'ov' -> 'openvino', ...; a canonical name is returned unchanged."""
    name = name.strip().lower()
    return RUNTIME_ALIASES.get(name, name)


def parse_runtimes(text: str | Iterable[str], allowed: Iterable[str], flag: str = "--runtimes") -> tuple[str, ...]:
    """Split a comma-separated runtime list, map aliases, drop duplicates (keeping order), reject unknown names.

    `allowed` are the canonical names this command accepts; the error names the aliases too.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    allowed = tuple(allowed)
    out: list[str] = []
    for raw in items:
        if not raw.strip():
            continue
        if len(raw.split()) > 1:
            raise InvalidOptionError(spaces_hint(flag, raw))
        name = canonical_runtime(raw)
        if name not in allowed:
            spelled = sorted({*allowed, *(a for a, c in RUNTIME_ALIASES.items() if c in allowed)})
            raise InvalidOptionError(
                f"{flag}: unknown runtime {raw.strip()!r}.{suggest(raw.strip(), spelled)} "
                f"Available: {', '.join(allowed)} (aliases: "
                f"{', '.join(f'{a}={c}' for a, c in RUNTIME_ALIASES.items() if c in allowed)})"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidOptionError(f"{flag} is empty: name at least one of {', '.join(allowed)}")
    return tuple(out)


#: --threads is refused above this many threads per CPU this process may use: past the core count threads only add
#: contention, and thousands of them exhaust the process (export segfaulted at 100000, verify hung)
THREADS_PER_CPU = 4
#: `serve export --threads` sizes the SERVER's instances, not this host's: bounded absolutely instead
MAX_SERVER_THREADS = 256


def usable_cpus() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def max_threads() -> int:
    """The most threads any edgeattn command runs with on this host (THREADS_PER_CPU x usable CPUs)."""
    return THREADS_PER_CPU * usable_cpus()


def check_threads(value: int | None, flag: str = "--threads", *, allow_zero: bool = False,
                  limit: int | None = None) -> int | None:
    """None passes (each runtime's own default); else 1..limit (0 too with `allow_zero`), or InvalidOptionError."""
    if value is None:
        return None
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidOptionError(f"{flag} must be >= {low}, got {value!r}")
    high = max_threads() if limit is None else limit
    if value > high:
        why = (f"{THREADS_PER_CPU} per CPU available here ({usable_cpus()})" if limit is None
               else "a sane count for one server instance")
        raise InvalidOptionError(f"{flag} {value} is more than {high} threads ({why}); more threads than cores only "
                                 f"slow the job down: pass {low}..{high}")
    return value


def threads_arg(*, allow_zero: bool = False, limit: int | None = None, flag: str = "--threads"):  # noqa: ANN201
    """argparse `type=` for --threads: refused at parse time, before any work, with check_threads's message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be an integer, got {text!r}") from None
        try:
            check_threads(value, flag, allow_zero=allow_zero, limit=limit)
        except InvalidOptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    parse.__name__ = "threads"
    return parse


def check_range(value: float, flag: str, low: float, high: float, *, low_open: bool = False,
                why: str = "") -> float:
    """`value` if it lies in low..high, else InvalidOptionError: one line naming `flag`, the range and how to fix it.

    Integer bounds (both `low` and `high` ints) take integers only; float bounds take any finite number (NaN and
    the infinities are never in range). `low_open` excludes `low` itself (a duration that must be > 0). `why` says
    what the range protects, e.g. " (each rep is one timed call)"."""
    integer = isinstance(low, int) and isinstance(high, int)
    if integer:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        span, kind = f"{low}..{high}", "an integer"
    else:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
              and (low < value if low_open else low <= value) and value <= high)
        span, kind = f"{'(' if low_open else '['}{low:g}, {high:g}]", "a finite number"
    if not ok:
        raise InvalidOptionError(f"{flag} must be {kind} in {span}{why}, got {value!r}; pass {flag} with a value in "
                                 "that range")
    return value


def int_arg(flag: str, low: int, high: int, why: str = "") -> Callable[[str], int]:
    """argparse `type=` for an integer flag bounded to low..high: text that is not an integer, or an integer out of
    range, is refused at parse time, before any work (one line, exit 2), with check_range's message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be an integer in {low}..{high}{why}, got "
                                             f"{text[:40]!r}; pass {flag} with an integer in that range") from None
        try:
            return int(check_range(value, flag, low, high, why=why))
        except InvalidOptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "integer"
    return parse


def float_arg(flag: str, low: float, high: float, *, low_open: bool = False, why: str = "") -> Callable[[str], float]:
    """argparse `type=` for a number flag bounded to [low, high] (or (low, high] with `low_open`): not a number,
    NaN, an infinity or a number out of range is refused at parse time (one line, exit 2), as in check_range."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a number in {'(' if low_open else '['}{low:g}, "
                                             f"{high:g}]{why}, got {text[:40]!r}; pass {flag} with a number in "
                                             "that range") from None
        try:
            return float(check_range(value, flag, float(low), float(high), low_open=low_open, why=why))
        except InvalidOptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "number"
    return parse


def spaces_hint(flag: str, text: str) -> str:
    """The message for a list option written with spaces (`--runtimes "ort openvino"`): use commas."""
    return f"{flag} {text.strip()!r}: separate the items with commas, not spaces: {flag} {','.join(text.split())}"


def choice_arg(kind: str, choices: Iterable[str]) -> Callable[[str], str]:
    """argparse `type=` for one name out of `choices`: exact, else case-insensitive where that names exactly one
    (`--target ORT` -> ort, `--precision INT8` -> int8); anything else is refused at parse time (exit 2) with
    the close matches and the full list."""
    names = tuple(choices)

    def check(text: str) -> str:
        if text in names:
            return text
        folded = [c for c in names if c.lower() == text.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        raise argparse.ArgumentTypeError(str(unknown(kind, text, names)))

    check.__name__ = kind  # argparse names the type in its messages
    return check


def names_arg(flag: str) -> Callable[[str], tuple[str, ...]]:
    """argparse `type=` for a comma-separated list of names; spaces between items get the 'use commas' hint."""

    def split(text: str) -> tuple[str, ...]:
        if "," not in text and len(text.split()) > 1:
            raise argparse.ArgumentTypeError(spaces_hint(flag, text))
        return tuple(s.strip() for s in text.split(",") if s.strip())

    split.__name__ = "list"
    return split


def print_error(tool: str, message: str) -> None:
    """The one error format: `edgeattn.TOOL: error: MESSAGE` on one line of stderr."""
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"edgeattn.{tool}: error: {text}", file=sys.stderr, flush=True)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with edgeattn's conventions: `prog` from the tool name, the exit table in the epilog, and usage
    errors as one line plus a hint instead of the whole usage block."""

    def __init__(self, tool: str, *, description: str, epilog: str = "", **kwargs) -> None:
        self.tool = tool
        epilog = f"{epilog.rstrip()}\n\n{EXIT_STATUS_HELP}\n" if epilog else f"{EXIT_STATUS_HELP}\n"
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=f"python -m edgeattn.{tool}", description=description, epilog=epilog, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]  # argparse's NoReturn hook
        print_error(self.tool, f"{message} (see python -m edgeattn.{self.tool} --help)")
        sys.exit(EXIT_BAD_INPUT)

    def add_subparsers(self, **kwargs):  # noqa: ANN201 - argparse's own return type
        """Sub-commands (`serve export|check`) report usage errors the same way, naming their own --help."""
        tool = self.tool

        class _Sub(argparse.ArgumentParser):
            def error(self, message: str) -> None:  # type: ignore[override]
                command = self.prog.split()[-1]
                print_error(tool, f"{message} (see python -m edgeattn.{tool} {command} --help)")
                sys.exit(EXIT_BAD_INPUT)

        kwargs.setdefault("parser_class", _Sub)
        return super().add_subparsers(**kwargs)


#: OS refusals of a path (too long, a loop of links, a file where a folder must be, no permission, read-only)
_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS}

#: how PyTorch, ONNX Runtime and OpenVINO say that an allocation failed (they raise RuntimeError-like errors, not
#: MemoryError)
_ALLOC_MESSAGES = ("can't allocate memory", "out of memory", "failed to allocate memory", "bad_alloc",
                   "cannot allocate memory")


def _allocation_failure(exc: BaseException) -> str | None:
    """'<runtime> could not allocate N bytes' for a runtime's allocation failure, else None."""
    import re

    text = str(exc)
    if not any(m in text.lower() for m in _ALLOC_MESSAGES) or isinstance(exc, (SyntaxError, ImportError)):
        return None
    size = re.search(r"allocate (?:memory: you tried to allocate )?(\d+) bytes", text)
    module = type(exc).__module__ or ""
    who = ("PyTorch" if "CPUAllocator" in text or "alloc_cpu" in text or module.startswith("torch")
           else "ONNX Runtime" if module.startswith("onnxruntime") else "OpenVINO" if "openvino" in module
           else "a runtime")
    if size:
        n = int(size.group(1))
        return f"{who} could not allocate {n / 2**30:.1f} GiB"
    return f"{who} could not allocate memory"


def run_cli(tool: str, body: Callable[[], int], interrupted: str | Callable[[], str] = "nothing was written") -> int:
    """Run a CLI body; user-facing failures become one line and their exit status, never a traceback.

    `interrupted` says what Ctrl-C left behind (a callable is asked at that moment)."""
    try:
        return body()
    except EdgeAttnError as exc:
        print_error(tool, str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print_error(tool, f"interrupted; {interrupted() if callable(interrupted) else interrupted}")
        return EXIT_INTERRUPTED
    except MemoryError:
        print_error(tool, "out of memory: use a smaller --input-size/--batch (or fewer --parity-size cases)")
        return EXIT_BAD_INPUT
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            print_error(tool, f"no space left on the device writing {exc.filename or 'the output'}; free some space "
                        "or pass --output on another disk (nothing half-written was left in place)")
            return EXIT_BAD_INPUT
        if exc.errno in _PATH_ERRNOS and exc.filename:  # a path the user gave that the OS will not take
            print_error(tool, f"cannot use {str(exc.filename)[:300]!r}: {exc.strerror}; pass another path")
            return EXIT_BAD_INPUT
        if _allocation_failure(exc) is None:
            raise
        print_error(tool, f"out of memory: {_allocation_failure(exc)}; use a smaller --input-size/--batch")
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - only allocation failures are turned into a line; the rest re-raised
        wanted = _allocation_failure(exc)
        if wanted is None:
            raise
        print_error(tool, f"out of memory: {wanted}; use a smaller --input-size/--batch (or fewer --parity-size "
                          "cases), or run where more memory is free")
        return EXIT_BAD_INPUT
