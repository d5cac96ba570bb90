"""Triton backends a bundle can be served with: one small class each, registered by decorator.

Each says which bundle files become the version folder's files, what config.pbtxt names the backend, which
instance kind it runs on, its thread/stream parameters, and which edgeattn runtime (the tolerance key
"<precision>/<runtime>" of the manifest) judges its answers.
"""

from __future__ import annotations

from ..errors import unknown
from .options import RepositoryOptions

__all__ = ["TritonBackend", "register_triton_backend", "triton_backend", "triton_backend_names", "DEFAULT_BACKEND",
           "F32_COMPUTE", "choose_backend"]

# The bundle's target -> the Triton backend that runs its shipped artefact.
DEFAULT_BACKEND = {"onnx": "onnxruntime", "ort": "onnxruntime", "openvino": "openvino", "trt": "tensorrt"}
# Bundle precisions whose tolerance was decided for f32 arithmetic. Triton's openvino backend cannot ask OpenVINO
# for f32 (its HINT_BF16 accepts only YES), so on CPUs with bf16 units (AVX512-BF16, AMX) it runs these in bf16
# and `serve check` fails them (a criss-cross block: 7e-3 from PyTorch, against an fp32 bar of 1e-4).
F32_COMPUTE = ("fp32", "fp16-weights")
_F32_WHY = ("Triton's openvino backend cannot request f32 and runs bf16 on CPUs with AVX512-BF16 or AMX, where "
            "this {precision} bundle fails its tolerance")


def choose_backend(target: str, precision: str, tolerances: dict, forced: str | None) -> tuple[str, str]:
    """The Triton backend for a bundle and one line saying why (or warning, when the user forced one that cannot
    run the bundle's precision). The default is the one whose answers verify against the bundle's stored
    tolerance: the target's own backend, except an f32-compute OpenVINO bundle that was also verified on ONNX
    Runtime, which is served from its model.onnx."""
    f32_ov = target == "openvino" and precision in F32_COMPUTE
    if forced:
        name = triton_backend(forced).name
        if name == "openvino" and precision in F32_COMPUTE:
            return name, (f"warning: --backend openvino: {_F32_WHY.format(precision=precision)}; leave --backend "
                          "out (or pass --backend onnxruntime) to serve its model.onnx on ONNX Runtime")
        return name, f"backend {name} (--backend)"
    if f32_ov and f"{precision}/ort" in tolerances:
        return "onnxruntime", (f"backend onnxruntime, serving model.onnx: {_F32_WHY.format(precision=precision)}; "
                               "the bundle was verified on ONNX Runtime too (--backend openvino forces OpenVINO)")
    name = DEFAULT_BACKEND.get(target, "onnxruntime")
    if f32_ov:
        return name, (f"warning: backend openvino (the bundle's target): {_F32_WHY.format(precision=precision)}; "
                      "re-export with --runtimes ort,openvino so it can be served on ONNX Runtime, or use OVMS")
    return name, f"backend {name}: the bundle's target is {target}"

_REGISTRY: dict[str, type[TritonBackend]] = {}


def register_triton_backend(cls: type[TritonBackend]) -> type[TritonBackend]:
    if cls.name in _REGISTRY:
        raise ValueError(f"Triton backend {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def triton_backend_names() -> list[str]:
    return sorted(_REGISTRY)


def triton_backend(name: str) -> type[TritonBackend]:
    name = name if name in _REGISTRY else name.strip().lower()  # --backend OpenVINO: one backend, any case
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
        # AVX512-BF16 CPUs). Said in docs/serving.md; `serve check` measures what the server actually returns.
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
