"""CUDA device memory and streams for the TensorRT runner, through cuda-python's runtime bindings (no PyTorch).

`cuda.bindings.runtime` (cuda-python >= 12.6.1 and 13.x; the older `cuda.cudart` name is accepted too) wraps the
CUDA runtime API one to one: every call returns `(cudaError_t, *values)`. `call` turns a non-success status into
one edgeattn error naming the call and CUDA's own message, so a machine without a driver or GPU says so plainly.
Host arrays are copied through their numpy pointers; buffers are freed explicitly (`close`) or by the owner.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy as np

from ..errors import EdgeAttnError, MissingDependencyError

__all__ = ["CudaError", "cudart", "find_cudart", "call", "device_count", "device_name", "DeviceBuffer", "Stream"]

_MODULES = ("cuda.bindings.runtime", "cuda.cudart")  # cuda-python >= 12.6.1 / older 12.x
INSTALL_HINT = ("pip install cuda-python matching the device's CUDA (JetPack 6.1: 'cuda-python>=12.6,<12.7'; "
                "JetPack 7.2: 'cuda-python>=13.2,<14')")


class CudaError(EdgeAttnError):
    """A CUDA runtime call failed (no driver, no device, out of memory)."""


def find_cudart() -> str | None:
    """The importable name of the CUDA runtime bindings, without importing them; None when absent."""
    for name in _MODULES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except ModuleNotFoundError:  # the parent package `cuda` is missing
            continue
    return None


def cudart() -> Any:
    name = find_cudart()
    if name is None:
        raise MissingDependencyError(f"cuda-python is not installed: {INSTALL_HINT}")
    return importlib.import_module(name)


def call(fn_name: str, *args: Any) -> Any:
    """Call `cudart.<fn_name>(*args)`; return its values (one value unwrapped, none as None) or raise CudaError."""
    rt = cudart()
    result = getattr(rt, fn_name)(*args)
    status, values = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
    if status != rt.cudaError_t.cudaSuccess:
        message = rt.cudaGetErrorString(status)[1]
        message = message.decode() if isinstance(message, bytes) else str(message)
        raise CudaError(f"CUDA {fn_name} failed: {getattr(status, 'name', status)}: {message}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def device_count() -> int:
    """CUDA devices visible here; 0 when there is no driver or no device (never raises for that)."""
    try:
        return int(call("cudaGetDeviceCount"))
    except CudaError:
        return 0


def device_name(index: int = 0) -> str:
    name = call("cudaGetDeviceProperties", index).name
    return (name.decode(errors="replace") if isinstance(name, bytes) else str(name)).split("\0", 1)[0]


class Stream:
    """A CUDA stream; `handle` is the integer TensorRT's execute_async_v3 takes."""

    def __init__(self) -> None:
        self._stream = call("cudaStreamCreate")

    @property
    def handle(self) -> int:
        return int(self._stream)

    def synchronize(self) -> None:
        call("cudaStreamSynchronize", self._stream)

    def close(self) -> None:
        if self._stream is not None:
            call("cudaStreamDestroy", self._stream)
            self._stream = None


class DeviceBuffer:
    """`nbytes` of device memory (at least 1 byte: cudaMalloc(0) gives no usable pointer)."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self._ptr = call("cudaMalloc", max(self.nbytes, 1))

    @property
    def ptr(self) -> int:
        return int(self._ptr)

    def upload(self, array: np.ndarray, stream: Stream) -> None:
        host = np.ascontiguousarray(array)
        if host.nbytes > self.nbytes:
            raise CudaError(f"upload of {host.nbytes} bytes into a {self.nbytes}-byte device buffer")
        kind = cudart().cudaMemcpyKind.cudaMemcpyHostToDevice
        call("cudaMemcpyAsync", self.ptr, host.ctypes.data, host.nbytes, kind, stream._stream)
        stream.synchronize()  # the host array may be freed as soon as this returns

    def download(self, shape: tuple[int, ...], dtype: np.dtype, stream: Stream) -> np.ndarray:
        out = np.empty(shape, dtype)
        if out.nbytes > self.nbytes:
            raise CudaError(f"download of {out.nbytes} bytes from a {self.nbytes}-byte device buffer")
        kind = cudart().cudaMemcpyKind.cudaMemcpyDeviceToHost
        call("cudaMemcpyAsync", out.ctypes.data, self.ptr, out.nbytes, kind, stream._stream)
        stream.synchronize()
        return out

    def close(self) -> None:
        if self._ptr is not None:
            call("cudaFree", self._ptr)
            self._ptr = None
