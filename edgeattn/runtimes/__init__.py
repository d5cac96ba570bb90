"""Runtime backends behind one interface. Each backend module registers itself on import; the
frameworks themselves are imported only when a runtime is loaded."""

from . import onnxruntime, openvino, reference, tensorrt  # noqa: F401  (register the backends)
from .base import Runtime, RuntimeOptions, check_available, load_runtime, register_runtime, runtime_class, runtime_names


def __getattr__(name: str):  # TorchRuntime imports torch: only when asked for (the device side has no torch)
    if name == "TorchRuntime":
        from .torch import TorchRuntime

        return TorchRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Runtime", "RuntimeOptions", "TorchRuntime", "check_available", "load_runtime", "register_runtime",
           "runtime_class", "runtime_names"]
