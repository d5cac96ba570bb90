"""ONNX Runtime (CPU execution provider)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["OrtRuntime"]


@register_runtime
class OrtRuntime(Runtime):
    name = "ort"
    extra = "ort"
    modules = ("onnxruntime",)
    artefacts = ("model.onnx",)
    # The graph carries its precision: an int8 bundle's ONNX is Q/DQ, a trt fp16 bundle's is float16 (ORT's CPU
    # provider computes most float16 ops through float32 casts; edgeattn/precision/fp16_islands.py).
    precisions = ("fp32", "int8", "fp16")

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        super().__init__(path, options)
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if options.custom_ops is not False:
            self._register_custom_ops(so)
        self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])

    def _register_custom_ops(self, so) -> None:
        """Hook for edgeattn's custom-domain kernels (registered by edgeattn.ops when present)."""
        try:
            from ..ops import register_ort_custom_ops
        except ImportError:
            return
        register_ort_custom_ops(so)

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feeds)[0]

    def infer_all(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, feeds)))
