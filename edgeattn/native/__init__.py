"""Compiled kernels of the custom ops: edgeattn's OpenVINO extension library, per architecture (host side).

`src/` holds the C++ (an `ov::op::Op` per custom op, an ONNX-frontend mapping for the `edgeattn` domain),
`CMakeLists.txt` builds it against the openvino wheel's CMake config, and the Makefile's `native` (this machine)
and `native-aarch64` (Debian's cross compiler, the aarch64 wheel) targets run that build, cached in
`build/native/<arch>/`. An export with `--target openvino --custom-ops` copies the library of the bundle's
architecture into the bundle (a hashed file); verify loads it only after checking that hash
(edgeattn.bundle.extensions). This module only finds built libraries: nothing is compiled at run time.

The library links `libopenvino.so.<release>` and so loads into the OpenVINO release it was built against only
(recorded in the manifest; `check_release` refuses a --device profile with another).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from ..errors import InvalidOptionError, MissingDependencyError

__all__ = ["ARCHES", "LIBRARY", "OPS", "host_arch", "normalize_arch", "bundle_arch", "check_release", "build_dir",
           "library_path", "library_record"]

ARCHES = ("x86_64", "aarch64")
LIBRARY = "libedgeattn_openvino.so"
OPS = ("EdgeAttnCrissCross", "EdgeAttnPatchMatch")
_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_MAKE_TARGET = {"x86_64": "native", "aarch64": "native-aarch64"}
#: where `make native` writes (the one environment variable this package reads: another build folder)
_ENV_DIR = "EDGEATTN_NATIVE_DIR"


def normalize_arch(name: str) -> str:
    arch = _ALIASES.get(name.strip().lower())
    if arch is None:
        raise InvalidOptionError(f"architecture {name!r} has no edgeattn native build; expected one of "
                                 f"{', '.join(ARCHES)} (or amd64, arm64)")
    return arch


def host_arch() -> str:
    return normalize_arch(platform.machine())


def bundle_arch(config: object) -> str:
    """The architecture a bundle's compiled kernels are built for: its device profile's (--device), else this
    machine's."""
    device = getattr(config, "device", None)
    if not device:
        return host_arch()
    from ..devices import get_profile

    return normalize_arch(get_profile(device).arch)


def check_release(config: object) -> None:
    """The library loads only into the OpenVINO release it was built against: refuse a device that has another."""
    device = getattr(config, "device", None)
    if not device:
        return
    from .._openvino import import_openvino
    from ..devices import get_profile

    wanted, built = get_profile(device).openvino, import_openvino().__version__.split("-")[0]
    if wanted and wanted != built:
        raise InvalidOptionError(f"--custom-ops --target openvino: --device {device} has OpenVINO {wanted}, and "
                                 f"edgeattn's compiled extension is built against this machine's OpenVINO {built} "
                                 "(it loads into that release only); install openvino=={wanted} and rebuild "
                                 "(make native native-aarch64), or export without --custom-ops")


def build_dir() -> Path:
    env = os.environ.get(_ENV_DIR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "build" / "native"


def library_path(arch: str) -> Path:
    """The built library for `arch`; MissingDependencyError naming the make target when it is not built."""
    arch = normalize_arch(arch)
    path = build_dir() / arch / LIBRARY
    if not path.is_file():
        raise MissingDependencyError(
            f"edgeattn's OpenVINO extension for {arch} is not built ({path} is missing): run `make "
            f"{_MAKE_TARGET[arch]}` in the edgeattn checkout (or set {_ENV_DIR} to a folder holding {arch}/{LIBRARY})")
    return path


def library_record(arch: str) -> dict:
    """The manifest's description of the library (beside its hash in `files`)."""
    from .._openvino import import_openvino

    release = import_openvino().__version__.split("-")[0]
    return {"arch": normalize_arch(arch), "ops": list(OPS), "domain": "edgeattn", "openvino": release,
            "load": "openvino.Core().add_extension(<this file>) before read_model (C++: core.add_extension(path))"}
