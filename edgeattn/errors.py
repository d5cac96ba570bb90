"""User-facing errors.

Every failure a user can cause (a bad name, a bad size, a missing backend, a broken checkpoint)
is raised as one of these, with a message that says what was wrong and how to fix it. The CLIs
print the message on one line and exit with status 2; they never show a traceback for these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "EdgeAttnError",
    "UnknownNameError",
    "InvalidOptionError",
    "CheckpointError",
    "MissingDependencyError",
    "ExportError",
    "IntegrityError",
    "ResourceError",
    "suggest",
    "install_hint",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_BAD_INPUT",
    "EXIT_NOT_VERIFIED",
    "EXIT_INTERRUPTED",
]

# The exit statuses of every edgeattn CLI (docs/bundle-format.md, docs/cli.md "Exit statuses").
EXIT_OK = 0  # every requested check ran and passed
EXIT_FAILED = 1  # a check ran and failed (parity, accuracy bound)
EXIT_BAD_INPUT = 2  # bad input, or an integrity failure
EXIT_NOT_VERIFIED = 3  # nothing failed, but a requested runtime could not run here
EXIT_INTERRUPTED = 130


class EdgeAttnError(Exception):
    """Base class of every error edgeattn raises on purpose."""

    exit_code = 2


class UnknownNameError(EdgeAttnError):
    """A model, target, runtime or option value that does not exist."""


class InvalidOptionError(EdgeAttnError):
    """An option with a malformed or unsupported value (sizes, precisions, paths)."""


class CheckpointError(EdgeAttnError):
    """A checkpoint that is missing, unreadable, or does not match the model."""


class MissingDependencyError(EdgeAttnError):
    """An optional backend that is not installed; the message names the extra to install."""


class ExportError(EdgeAttnError):
    """The exporter or a converter failed on a model edgeattn should be able to export."""


class IntegrityError(EdgeAttnError):
    """A bundle whose files do not match its manifest, or whose reference is unusable (NaN/Inf, missing keys)."""


class ResourceError(EdgeAttnError):
    """A job that would exceed the machine (memory estimate), a full disk, or an output that cannot be written."""


def install_hint(extra: str) -> str:
    """How to install an optional extra, for an installed package and for a source checkout."""
    return f"pip install 'edgeattn[{extra}]' (in a checkout: pip install -e '.[{extra}]')"


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean: a, b?' for close matches of `name`, or '' when none is close."""
    choices = list(choices)
    folded = {c.lower(): c for c in choices}  # case is no evidence against a match: 'ORTT' -> ort
    close = [folded[c] for c in difflib.get_close_matches(name.lower(), list(folded), n=3, cutoff=0.5)]
    return f" Did you mean: {', '.join(close)}?" if close else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> UnknownNameError:
    """Build the standard 'unknown X' error with close-match suggestions and the full list."""
    choices = sorted(choices)
    return UnknownNameError(
        f"unknown {kind} {name!r}.{suggest(name, choices)} Available: {', '.join(choices)}."
    )
