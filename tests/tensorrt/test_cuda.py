"""CUDA buffers without PyTorch, through cuda-python's real runtime bindings (cuda-bindings in requirements/dev.txt).
Here there is no driver and no GPU, so the bindings answer with real CUDA errors: those must become one edgeattn
error naming the call. On a GPU machine the round trip runs for real (the `gpu` mark)."""

import numpy as np
import pytest

from edgeattn.errors import EdgeAttnError
from edgeattn.tensorrt import cuda

HAVE_BINDINGS = cuda.find_cudart() is not None
NO_GPU = cuda.device_count() == 0 if HAVE_BINDINGS else True


def test_bindings_are_found_without_importing_torch():
    assert HAVE_BINDINGS, "cuda-bindings missing: pip install -r requirements/dev.txt"
    assert cuda.find_cudart() in ("cuda.bindings.runtime", "cuda.cudart")


@pytest.mark.skipif(not NO_GPU, reason="a CUDA device is present here: the round trip test covers it")
def test_calls_without_a_driver_raise_one_named_error():
    assert cuda.device_count() == 0  # no driver: 0 devices, not an exception
    with pytest.raises(cuda.CudaError, match=r"CUDA cudaMalloc failed: cudaError\w+: ") as exc:
        cuda.DeviceBuffer(64)
    assert isinstance(exc.value, EdgeAttnError) and exc.value.exit_code == 2 and "\n" not in str(exc.value)
    with pytest.raises(cuda.CudaError, match="cudaStreamCreate"):
        cuda.Stream()


def test_missing_bindings_name_the_package(monkeypatch):
    monkeypatch.setattr(cuda, "_MODULES", ("edgeattn_no_such_module.runtime",))
    assert cuda.find_cudart() is None
    with pytest.raises(cuda.MissingDependencyError, match="cuda-python"):
        cuda.cudart()


@pytest.mark.gpu
def test_device_buffer_round_trip_on_a_gpu():
    if NO_GPU:
        pytest.skip("no CUDA device visible to cuda-python")
    x = np.arange(2 * 3 * 5 * 7, dtype=np.float32).reshape(2, 3, 5, 7)
    stream, buf = cuda.Stream(), cuda.DeviceBuffer(x.nbytes)
    try:
        buf.upload(x, stream)
        assert np.array_equal(buf.download(x.shape, x.dtype, stream), x)
        half = buf.download((x.size,), np.dtype(np.float16), stream)  # reinterpretation, size-checked
        assert half.nbytes == x.nbytes // 2
        with pytest.raises(cuda.CudaError, match="upload of"):
            buf.upload(np.zeros(x.size + 1, np.float32), stream)
        assert cuda.device_name(0)
    finally:
        buf.close()
        stream.close()
