"""One small interface for every backend: load an artefact, describe inputs, run, close.

A backend is one file that subclasses `Runtime` and registers itself with `@register_runtime`. Its
framework is imported lazily inside `load`, so `import edgeattn` works with only torch and onnx present;
`available()` says, without importing anything heavy, whether it can run here and if not how to fix it.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import InvalidOptionError, MissingDependencyError, install_hint, unknown

__all__ = ["RuntimeOptions", "Runtime", "register_runtime", "runtime_names", "runtime_class", "load_runtime",
           "check_available"]


@dataclass(frozen=True)
class RuntimeOptions:
    threads: int | None = None  # None: the backend's default
    precision: str = "fp32"  # fp32 | fp16 | bf16: the precision the backend computes in
    device: str = "cpu"
    # edgeattn custom-op kernels (edgeattn.ops, needs torch): None registers them when importable; False never
    # (verify passes the bundle's own answer, so a standard graph never pulls torch in)
    custom_ops: bool | None = None
    # runtime extension libraries to load first (OpenVINO: core.add_extension), e.g. a bundle's compiled custom-op
    # kernels: paths that edgeattn.bundle.extensions.verified_library has already checked against the manifest
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from ..cli import check_threads

        check_threads(self.threads)  # every runtime, however reached: 1..4 x the CPUs here (edgeattn/cli.py)


class Runtime(ABC):
    name: ClassVar[str]
    #: what `pip install` fixes a missing backend
    extra: ClassVar[str] = ""
    #: python modules the backend needs
    modules: ClassVar[tuple[str, ...]] = ()
    #: artefact file names this backend loads from an export folder, in order of preference
    artefacts: ClassVar[tuple[str, ...]] = ("model.onnx",)
    #: precisions it can compute in
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        self.path = Path(path)
        self.options = options

    @classmethod
    def available(cls) -> tuple[bool, str]:
        missing = [m for m in cls.modules if importlib.util.find_spec(m) is None]
        if missing:
            return False, f"{', '.join(missing)} not installed: {install_hint(cls.extra)}"
        return True, ""

    @classmethod
    def find_artefact(cls, folder: Path) -> Path:
        folder = Path(folder)
        if folder.is_file():
            return folder
        for name in cls.artefacts:
            if (folder / name).exists():
                return folder / name
        raise InvalidOptionError(f"{folder} has none of {', '.join(cls.artefacts)} (export it first)")

    @property
    @abstractmethod
    def input_names(self) -> list[str]: ...

    @abstractmethod
    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Run once; feeds are float32 NCHW arrays by input name; returns the (single) output."""

    def infer_all(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once and return every graph output by name (the parity localiser exposes intermediates)."""
        raise NotImplementedError(f"runtime {self.name!r} cannot return all outputs")

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_RUNTIMES: dict[str, type[Runtime]] = {}


def register_runtime(cls: type[Runtime]) -> type[Runtime]:
    if cls.name in _RUNTIMES:
        raise ValueError(f"runtime {cls.name!r} is already registered")
    _RUNTIMES[cls.name] = cls
    return cls


def runtime_names() -> list[str]:
    return list(_RUNTIMES)


def runtime_class(name: str) -> type[Runtime]:
    """The backend registered as `name` or one of its aliases (edgeattn.cli.RUNTIME_ALIASES: trt, ov, ...)."""
    from ..cli import canonical_runtime

    try:
        return _RUNTIMES[canonical_runtime(name)]
    except KeyError:
        raise unknown("runtime", name, _RUNTIMES) from None


def check_available(name: str) -> type[Runtime]:
    cls = runtime_class(name)
    ok, why = cls.available()
    if not ok:
        raise MissingDependencyError(f"runtime {name!r} is not available: {why}")
    return cls


def load_runtime(name: str, path: str | Path, options: RuntimeOptions | None = None) -> Runtime:
    """Load artefact `path` (a file, or an export folder) in backend `name`."""
    cls = check_available(name)
    options = options or RuntimeOptions()
    if options.precision not in cls.precisions:
        raise unknown(f"precision for runtime {name}", options.precision, cls.precisions)
    return cls(cls.find_artefact(Path(path)), options)
