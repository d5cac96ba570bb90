"""Triton backends a bundle can be served with: one small class each, registered by decorator.

Each says which bundle files become the version folder's files, what config.pbtxt names the backend, which
instance kind it runs on, its thread/stream parameters, and which edgeattn runtime (the tolerance key
"<precision>/<runtime>" of the manifest) judges its answers.
"""

from __future__ import annotations

from ..errors import unknown
from .options import RepositoryOptions

__all__ = ["TritonBackend", "register_triton_backend", "triton_backend", "triton_backend_names", "DEFAULT_BACKEND"]

# The bundle's target -> the Triton backend that runs its shipped artefact.
DEFAULT_BACKEND = {"onnx": "onnxruntime", "ort": "onnxruntime", "openvino": "openvino", "trt": "tensorrt"}

_REGISTRY: dict[str, type[TritonBackend]] = {}


def register_triton_backend(cls: type[TritonBackend]) -> type[TritonBackend]:
    if cls.name in _REGISTRY:
        raise ValueError(f"Triton backend {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def triton_backend_names() -> list[str]:
    return sorted(_REGISTRY)


def triton_backend(name: str) -> type[TritonBackend]:
    if name not in _REGISTRY:
        raise unknown("Triton backend", name, _REGISTRY)
    return _REGISTRY[name]


class TritonBackend:
    """Base: override the class attributes and `parameters`."""

    name = ""
    runtime = ""  # the edgeattn runtime whose tolerance judges this backend
    # version-folder file name -> bundle-relative source ("@engine" = the device-built TensorRT engine)
    files: dict[str, str] = {}  # noqa: RUF012 - read-only class data
    default_model_filename = ""
    kind = "KIND_CPU"
    extra_files: tuple[str, ...] = ()  # files of edgeattn.serve copied in as well (python backend's model.py)

    @classmethod
    def parameters(cls, opts: RepositoryOptions, precision: str) -> dict[str, str]:
        return {}


@register_triton_backend
class OnnxRuntimeBackend(TritonBackend):
    name = "onnxruntime"
    runtime = "ort"
    files = {"model.onnx": "model.onnx"}
    default_model_filename = "model.onnx"

    @classmethod
    def parameters(cls, opts: RepositoryOptions, precision: str) -> dict[str, str]:
        # onnxruntime_backend's session options (intra/inter op thread counts).
        params = {"inter_op_thread_count": "1"}
        if opts.threads:
            params["intra_op_thread_count"] = str(opts.threads)
        return params


@register_triton_backend
class PythonOrtBackend(OnnxRuntimeBackend):
    """Triton's Python backend running model.onnx on ONNX Runtime (edgeattn/serve/triton_python_model.py)."""

    name = "python"
    default_model_filename = "model.py"  # Triton's Python backend loads this file (it refuses any other name)
    extra_files = ("model.py",)


@register_triton_backend
class OpenVinoBackend(TritonBackend):
    name = "openvino"
    runtime = "openvino"
    files = {"model.xml": "model.xml", "model.bin": "model.bin"}
    default_model_filename = "model.xml"

    @classmethod
    def parameters(cls, opts: RepositoryOptions, precision: str) -> dict[str, str]:
        # openvino_backend reads exactly these keys (and rejects other values); it has no f32 precision hint:
        # HINT_BF16 accepts only YES, so an fp32 bundle runs at the CPU plugin's default precision (bf16 on
        # AVX512-BF16 CPUs). Said in the README; `serve check` measures what the server actually returns.
        params = {"NUM_STREAMS": str(opts.streams), "PERFORMANCE_HINT": "LATENCY"}
        if opts.threads:
            params["INFERENCE_NUM_THREADS"] = str(opts.threads)
        if precision == "bf16":
            params["HINT_BF16"] = "YES"
        return params


@register_triton_backend
class TensorRtBackend(TritonBackend):
    name = "tensorrt"
    runtime = "tensorrt"
    files = {"model.plan": "@engine"}
    default_model_filename = "model.plan"
    kind = "KIND_GPU"
