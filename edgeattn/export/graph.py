"""One in-memory ONNX graph for a model at one input size: export + simplify, as the export job does.

The parity and bench harnesses measure exactly the graph `python -m edgeattn.export` would write (static
shapes, default exporter and simplifier), without writing an export folder for every model x size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from .._atomic import atomic_write_bytes
from ..models import ModelSpec
from .onnx import export_onnx
from .simplify import simplify

__all__ = ["export_graph", "write_graph"]


def export_graph(model: nn.Module, spec: ModelSpec, feeds: dict[str, np.ndarray], *, opset: int = 17,
                 simplifier: str = "onnxslim", exporter: str = "torchscript") -> onnx.ModelProto:
    """Export `model` (export path, eval mode) at the shapes of `feeds` (name -> (B, C, H, W) float32)."""
    example = tuple(torch.from_numpy(feeds[i.name]) for i in spec.inputs)
    proto = export_onnx(model, example, input_names=[i.name for i in spec.inputs], output_name=spec.output,
                        opset=opset, dynamic=False, exporter=exporter)
    return simplify(proto, simplifier)


def write_graph(proto: onnx.ModelProto, path: Path) -> Path:
    return atomic_write_bytes(Path(path), proto.SerializeToString())
