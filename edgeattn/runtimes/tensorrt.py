"""TensorRT: availability only in this release; the engine runner is tracked in the TensorRT issue.

Engines are device-specific and are built on the target (see `edgeattn.export.tensorrt`); this module
tells the parity harness whether TensorRT can run here and, if not, why.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["TensorRTRuntime"]


@register_runtime
class TensorRTRuntime(Runtime):
    name = "tensorrt"
    extra = "tensorrt"
    modules = ("tensorrt",)
    artefacts = ("model.engine",)
    precisions = ("fp32", "fp16")

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("tensorrt") is None:
            return False, ("TensorRT is not installed (it needs NVIDIA's package index and a GPU; on a Jetson use "
                           "docker/jetson, or build the engine with the exported build_engine.sh)")
        return False, "the TensorRT engine runner is not implemented in this release"

    def __init__(self, path: Path, options: RuntimeOptions) -> None:  # pragma: no cover - unavailable
        super().__init__(path, options)
        raise NotImplementedError

    @property
    def input_names(self) -> list[str]:  # pragma: no cover
        return []

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError
