"""Runtime backends behind one interface. Each backend module registers itself on import; the
frameworks themselves are imported only when a runtime is loaded. `TorchRuntime` (the PyTorch reference)
is resolved lazily (PEP 562), so the file-based runtimes work where torch is not installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import onnxruntime, openvino, reference, tensorrt  # noqa: F401  (register the backends)
from .base import Runtime, RuntimeOptions, check_available, load_runtime, register_runtime, runtime_class, runtime_names

if TYPE_CHECKING:  # pragma: no cover
    from .torch import TorchRuntime


def __getattr__(name: str) -> Any:
    if name == "TorchRuntime":
        from .torch import TorchRuntime

        return TorchRuntime
    raise AttributeError(f"module 'edgeattn.runtimes' has no attribute {name!r}")


__all__ = ["Runtime", "RuntimeOptions", "TorchRuntime", "check_available", "load_runtime", "register_runtime",
           "runtime_class", "runtime_names"]
