"""Export one attention module to ONNX (the project's exporter + simplifier) and run it on ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from edgeattn.export.audit import audit
from edgeattn.export.onnx import export_onnx
from edgeattn.export.simplify import simplify


def export_module(module: torch.nn.Module, size: tuple[int, int], channels: int, dynamic: bool = True,
                  batch: int = 1) -> onnx.ModelProto:
    x = torch.randn(batch, channels, *size)
    proto = export_onnx(module.eval(), (x,), input_names=["x"], output_name="y", dynamic=dynamic)
    return simplify(proto, "onnxslim")


def op_count(proto: onnx.ModelProto, op: str) -> int:
    return sum(n.op_type == op for n in proto.graph.node)


def hostile(proto: onnx.ModelProto) -> list:
    return audit(proto, "onnx").hostile()


def run_ort(proto: onnx.ModelProto, x: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.numpy()})[0]
