"""TensorRT runner: loads an edgeattn engine file (or a bare trtexec plan) and runs it on CUDA.

UNVERIFIED: written against the TensorRT 10 Python API (Runtime.deserialize_cuda_engine, ICudaEngine
num_io_tensors / get_tensor_name / get_tensor_mode / get_tensor_dtype, IExecutionContext set_input_shape /
set_tensor_address / execute_async_v3) and reviewed against its documentation, but never run: no machine of this
project has TensorRT. Buffers are torch CUDA tensors (JetPack's PyTorch wheels are CUDA builds), so no
pycuda/cuda-python is needed. Engines are built on the device (`edgeattn.export.trt_build` or build_engine.sh);
handed a model.onnx (as the parity and bench harnesses do), the runner builds a static engine from it first.

`available()` imports nothing heavy: it looks for the `tensorrt` module and asks torch for a CUDA device.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidOptionError, MissingDependencyError
from .engine_file import read_engine
from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["TensorRTRuntime"]


def _build_from_onnx(path: Path, precision: str) -> tuple[bytes, dict]:
    import tempfile

    # export -> runtimes is the usual direction; this lazy import is the one exception, taken only when a runner
    # is handed an ONNX file instead of an engine
    from ..export.tensorrt import recipe_from_onnx
    from ..export.trt_build import build_plan

    with tempfile.TemporaryDirectory(prefix="edgeattn-trt-") as tmp:
        return build_plan(path, recipe_from_onnx(path, precision), Path(tmp))


@register_runtime
class TensorRTRuntime(Runtime):
    name = "tensorrt"
    extra = "tensorrt"
    modules = ("tensorrt",)
    # model.onnx: the parity and bench harnesses hand runners their own static graphs; the engine is then built
    # on the fly (fp32/fp16, no timing cache) from the ONNX input shapes
    artefacts = ("model.engine", "model.onnx")
    precisions = ("fp32", "fp16", "int8")

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("tensorrt") is None:
            return False, ("TensorRT is not installed (it needs NVIDIA's package index and a GPU; on a Jetson use "
                           "docker/jetson, or build the engine with the exported build_engine.sh)")
        import torch

        if not torch.cuda.is_available():
            return False, "TensorRT is installed but no CUDA device is visible to PyTorch (CUDA build of torch?)"
        return True, ""

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        super().__init__(path, options)
        import tensorrt as trt
        import torch

        self._trt, self._torch = trt, torch
        if self.path.suffix == ".onnx":
            plan, self.metadata = _build_from_onnx(self.path, options.precision)
        else:
            engine_file = read_engine(self.path)
            plan, self.metadata = engine_file.plan, engine_file.metadata  # {} for a bare trtexec plan
        built = self.metadata.get("precision")
        if built and built != options.precision:
            raise InvalidOptionError(f"{self.path} was built for {built}, not {options.precision}: rebuild it or "
                                     f"ask for --precision {built}")
        self._logger = trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self._logger, "")
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(plan)
        if self._engine is None:
            raise MissingDependencyError(
                f"TensorRT could not deserialize {self.path}: engines only load on the GPU model and TensorRT "
                f"version that built them ({self.metadata.get('device', '?')}, TensorRT "
                f"{self.metadata.get('tensorrt', '?')}; here TensorRT {trt.__version__}); rebuild it on this device")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self._inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._outputs = [n for n in names if n not in self._inputs]
        if len(self._outputs) != 1:
            raise InvalidOptionError(f"{self.path} has outputs {self._outputs}; edgeattn models have one")
        self._stream = torch.cuda.Stream()

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    def _torch_dtype(self, name: str) -> Any:
        np_dtype = np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))
        return self._torch.from_numpy(np.zeros(0, np_dtype)).dtype

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        missing = sorted(set(self._inputs) - set(feeds))
        if missing:
            raise InvalidOptionError(f"missing inputs {missing} (engine inputs: {self._inputs})")
        keep = []  # device tensors must outlive the asynchronous execution
        with torch.cuda.stream(self._stream):
            for name in self._inputs:
                x = torch.from_numpy(np.ascontiguousarray(feeds[name])).to("cuda", self._torch_dtype(name))
                if not self._context.set_input_shape(name, tuple(x.shape)):
                    raise InvalidOptionError(f"input {name} of shape {tuple(x.shape)} is outside the engine's "
                                             f"optimisation profile {self.metadata.get('profile', {}).get(name)}")
                self._context.set_tensor_address(name, int(x.data_ptr()))
                keep.append(x)
            out_name = self._outputs[0]
            shape = tuple(self._context.get_tensor_shape(out_name))  # resolved from the input shapes
            out = torch.empty(shape, dtype=self._torch_dtype(out_name), device="cuda")
            self._context.set_tensor_address(out_name, int(out.data_ptr()))
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        self._stream.synchronize()
        return out.float().cpu().numpy()

    def close(self) -> None:
        self._context = None
        self._engine = None
        self._runtime = None
