"""The compiled custom-op kernels of a `--target openvino --custom-ops` bundle (edgeattn/native).

The ONNX file is converted to IR with the library built for this machine (the IR then holds `EdgeAttnCrissCross` /
`EdgeAttnPatchMatch` layers, opset "edgeattn", that any OpenVINO program creates after `core.add_extension(lib)`),
and the library built for the bundle's architecture is copied into the bundle: an ordinary file, hashed in
`files`, described under the manifest's `extensions` (edgeattn.bundle.extensions). verify loads only those bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..bundle.extensions import EXTENSIONS, extension_file
from ..native import LIBRARY, bundle_arch, check_release, host_arch, library_path, library_record
from .config import ExportConfig

__all__ = ["wants_native", "conversion_library", "ship_library"]


def wants_native(config: ExportConfig) -> bool:
    return bool(config.custom_ops) and config.target == "openvino"


def conversion_library(config: ExportConfig) -> Path | None:
    """The library the ONNX -> IR conversion runs with (this machine's build); None for other exports.

    Looked up with the bundle's own build, so a missing build of either fails before any conversion starts."""
    if not wants_native(config):
        return None
    check_release(config)
    library_path(bundle_arch(config))
    return library_path(host_arch())


def ship_library(config: ExportConfig, stage: Path) -> dict:
    """Copy the bundle architecture's library into `stage`; the manifest entries that describe it."""
    if not wants_native(config):
        return {}
    arch = bundle_arch(config)
    rel = extension_file("openvino", LIBRARY)
    dest = Path(stage) / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(library_path(arch), dest)
    return {EXTENSIONS: {"openvino": {"file": rel, **library_record(arch)}}}
