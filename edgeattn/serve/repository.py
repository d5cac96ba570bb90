"""export_repository: integrity check of the bundle, then the server's layout (Triton or OVMS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..bundle import input_names, output_names, read_case
from ..errors import IntegrityError, unknown
from .options import SERVERS, RepositoryOptions
from .ovms import write_ovms_repository
from .source import BundleSource, open_bundle
from .triton import write_triton_repository

__all__ = ["export_repository"]


def _check_reference(bundle: BundleSource) -> None:
    """A repository is only worth serving if `serve check` can judge it: every reference case must read (bounded by
    the manifest, float32, finite); a NaN/Inf reference is refused here, before anything is written."""
    m = bundle.manifest
    ins, outs = input_names(m), output_names(m)
    cases = m["reference"]["cases"]
    if not cases:
        raise IntegrityError(f"bundle {str(bundle.folder)!r} has no reference case (serve check could not judge the "
                             "served model); re-export it")
    for entry in cases:
        read_case(bundle.folder, entry, ins, outs, m)


def export_repository(opts: RepositoryOptions, say: Callable[[str], None] | None = None) -> Path:
    """Write the repository for `opts.server`; return the folder written (Triton: REPO/<model>, OVMS: REPO).
    `say` hears one line on the Triton backend chosen and why."""
    if opts.server not in SERVERS:
        raise unknown("server", opts.server, SERVERS)
    bundle = open_bundle(opts.bundle)
    _check_reference(bundle)
    if opts.server == "triton":
        return write_triton_repository(bundle, opts, say)
    return write_ovms_repository(bundle, opts)
