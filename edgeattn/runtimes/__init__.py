"""Runtime backends behind one interface. Each backend module registers itself on import; the
frameworks themselves are imported only when a runtime is loaded."""

from . import onnxruntime, openvino, reference, tensorrt  # noqa: F401  (register the backends)
from .base import Runtime, RuntimeOptions, check_available, load_runtime, register_runtime, runtime_class, runtime_names
from .torch import TorchRuntime

__all__ = ["Runtime", "RuntimeOptions", "TorchRuntime", "check_available", "load_runtime", "register_runtime",
           "runtime_class", "runtime_names"]
