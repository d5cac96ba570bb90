"""What the benchmark times: one inference on PyTorch eager or on a runtime loaded from an ONNX file,
with the thread count fixed for every backend (torch.set_num_threads; ORT intra_op_num_threads with
inter_op 1; OpenVINO INFERENCE_NUM_THREADS; see runtimes/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..runtimes import Runtime, RuntimeOptions, load_runtime, runtime_class

__all__ = ["BENCH_RUNTIMES", "KNOWN_RUNTIMES", "check_runtime", "eager_step", "load_step"]

BENCH_RUNTIMES = ("torch", "ort", "openvino")  # the default set (CPU hosts)
KNOWN_RUNTIMES = (*BENCH_RUNTIMES, "tensorrt")  # tensorrt on a device that has it (docker/jetson)


def check_runtime(name: str) -> str | None:
    """None when `name` can run here, else the reason it cannot."""
    if name == "torch":
        return None
    ok, why = runtime_class(name).available()
    return None if ok else why


def eager_step(module: nn.Module, inputs: list[np.ndarray], threads: int) -> Callable[[], object]:
    """One eager forward under inference_mode at `threads` threads."""
    args = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
    module.eval()

    def step() -> object:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            return module(*args)

    return step


def load_step(name: str, onnx_path: Path, feeds: dict[str, np.ndarray],
              threads: int) -> tuple[Runtime, Callable[[], object]]:
    """Load `onnx_path` in runtime `name` (fp32) and return it with a one-inference callable."""
    rt = load_runtime(name, onnx_path, RuntimeOptions(threads=threads, precision="fp32"))
    return rt, lambda: rt.infer(feeds)
