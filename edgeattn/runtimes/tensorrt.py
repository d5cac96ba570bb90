"""TensorRT runner: loads an edgeattn engine file (or a bare trtexec plan) and runs it, without PyTorch.

UNVERIFIED on a GPU: written against the TensorRT 10/11 Python API (Runtime.deserialize_cuda_engine, ICudaEngine
num_io_tensors / get_tensor_name / get_tensor_mode / get_tensor_dtype, IExecutionContext set_input_shape /
set_tensor_address / execute_async_v3, all unchanged in 11.x) and never run: no machine of this project has
TensorRT. Device buffers and the stream come from cuda-python (`edgeattn.tensorrt.cuda`), whose calls and error
handling are exercised here against the real bindings (which report "no driver"). Engines are built on the device
(`python -m edgeattn.tensorrt.build` or build_engine.sh); handed a model.onnx (as the parity and bench harnesses
do), the runner builds a static engine from it first.

`available()` imports nothing heavy: it looks for the `tensorrt` and cuda-python modules and counts CUDA devices.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidOptionError, MissingDependencyError
from ..tensorrt import cuda
from ..tensorrt.engine_file import read_engine
from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["TensorRTRuntime"]


def _build_from_onnx(path: Path, precision: str) -> tuple[bytes, dict]:
    """Build an engine on the fly from model.onnx: with the trt_recipe.json beside it (a bundle: device side,
    no onnx needed), else from the graph's own input shapes (a bare graph handed over by the parity and bench
    harnesses, which run on a host that has onnx: the one place this runner reaches the host side)."""
    import tempfile

    from ..tensorrt.build import build_plan
    from ..tensorrt.recipe import RECIPE_NAME, read_recipe

    if (path.parent / RECIPE_NAME).is_file():
        recipe = read_recipe(path.parent)
    else:
        from ..tensorrt.onnx_recipe import recipe_from_onnx

        recipe = recipe_from_onnx(path, precision)
    with tempfile.TemporaryDirectory(prefix="edgeattn-trt-") as tmp:
        return build_plan(path, recipe, Path(tmp))


@register_runtime
class TensorRTRuntime(Runtime):
    name = "tensorrt"
    extra = "tensorrt"
    modules = ("tensorrt",)
    # model.onnx: the parity and bench harnesses hand runners their own static graphs; the engine is then built
    # on the fly (no timing cache) from the ONNX input shapes
    artefacts = ("model.engine", "model.onnx")
    precisions = ("fp32", "fp16", "int8")

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("tensorrt") is None:
            return False, ("TensorRT is not installed (it needs NVIDIA's package index and a GPU; on a Jetson use "
                           "docker/jetson, or build the engine with the bundle's build_engine.sh)")
        if cuda.find_cudart() is None:
            return False, f"TensorRT is installed but cuda-python is not: {cuda.INSTALL_HINT}"
        if cuda.device_count() == 0:
            return False, "TensorRT is installed but no CUDA device is visible (driver, --runtime nvidia?)"
        return True, ""

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        super().__init__(path, options)
        import tensorrt as trt

        self._trt = trt
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
        self._stream = cuda.Stream()
        self._buffers: dict[str, cuda.DeviceBuffer] = {}  # by tensor name, grown when a larger shape comes

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    def _dtype(self, name: str) -> np.dtype:
        return np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))

    def _buffer(self, name: str, nbytes: int) -> cuda.DeviceBuffer:
        buf = self._buffers.get(name)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                buf.close()
            buf = self._buffers[name] = cuda.DeviceBuffer(nbytes)
            self._context.set_tensor_address(name, buf.ptr)
        return buf

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        missing = sorted(set(self._inputs) - set(feeds))
        if missing:
            raise InvalidOptionError(f"missing inputs {missing} (engine inputs: {self._inputs})")
        for name in self._inputs:
            host = np.ascontiguousarray(feeds[name], dtype=self._dtype(name))  # e.g. a float16 graph's inputs
            if not self._context.set_input_shape(name, tuple(host.shape)):
                raise InvalidOptionError(f"input {name} of shape {tuple(host.shape)} is outside the engine's "
                                         f"optimisation profile {self.metadata.get('profile', {}).get(name)}")
            self._buffer(name, host.nbytes).upload(host, self._stream)
        out_name = self._outputs[0]
        shape = tuple(self._context.get_tensor_shape(out_name))  # resolved from the input shapes
        dtype = self._dtype(out_name)
        out = self._buffer(out_name, int(np.prod(shape)) * dtype.itemsize)
        if not self._context.execute_async_v3(self._stream.handle):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        return out.download(shape, dtype, self._stream).astype(np.float32)

    def close(self) -> None:
        for buf in self._buffers.values():
            buf.close()
        self._buffers = {}
        if getattr(self, "_stream", None) is not None:
            self._stream.close()
            self._stream = None
        self._context: Any = None
        self._engine = None
        self._runtime = None
