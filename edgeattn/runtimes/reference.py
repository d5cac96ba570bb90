"""onnx.reference.ReferenceEvaluator: a slow, vendor-free oracle for any ONNX graph, custom ops included."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["ReferenceRuntime"]


@register_runtime
class ReferenceRuntime(Runtime):
    name = "reference"
    extra = ""
    modules = ("onnx",)
    artefacts = ("model.onnx",)

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        super().__init__(path, options)
        from onnx.reference import ReferenceEvaluator

        new_ops = []
        if options.custom_ops is not False:
            try:
                from ..ops import reference_ops
            except ImportError:
                pass
            else:
                new_ops = reference_ops()
        self.evaluator = ReferenceEvaluator(str(self.path), new_ops=new_ops or None)

    @property
    def input_names(self) -> list[str]:
        return list(self.evaluator.input_names)

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.evaluator.run(None, feeds)[0])

    def infer_all(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(self.evaluator.output_names)
        return {n: np.asarray(v) for n, v in zip(names, self.evaluator.run(names, feeds))}
