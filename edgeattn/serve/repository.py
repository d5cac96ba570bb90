"""export_repository: integrity check of the bundle, then the server's layout (Triton or OVMS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import unknown
from .options import SERVERS, RepositoryOptions
from .ovms import write_ovms_repository
from .source import open_bundle
from .triton import write_triton_repository

__all__ = ["export_repository"]


def export_repository(opts: RepositoryOptions, say: Callable[[str], None] | None = None) -> Path:
    """Write the repository for `opts.server`; return the folder written (Triton: REPO/<model>, OVMS: REPO).
    `say` hears one line on the Triton backend chosen and why."""
    if opts.server not in SERVERS:
        raise unknown("server", opts.server, SERVERS)
    bundle = open_bundle(opts.bundle)
    if opts.server == "triton":
        return write_triton_repository(bundle, opts, say)
    return write_ovms_repository(bundle, opts)
