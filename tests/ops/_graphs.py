"""Helpers for the custom-op tests: export a module with/without its custom op, run a file on a runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from edgeattn.export.onnx import export_onnx
from edgeattn.export.openvino import convert_to_openvino
from edgeattn.ops import DOMAIN, custom_opsets
from edgeattn.runtimes import RuntimeOptions, load_runtime

RUNTIMES = ("reference", "ort", "openvino")


def export_to(folder: Path, module: torch.nn.Module, inputs: dict[str, torch.Tensor], custom: bool,
              ir: bool = True) -> onnx.ModelProto:
    """Write folder/model.onnx and (ir) the OpenVINO IR beside it (so the openvino runtime reads the IR)."""
    folder.mkdir(parents=True, exist_ok=True)
    proto = export_onnx(module.eval(), tuple(inputs.values()), input_names=list(inputs), output_name="y",
                        custom_opsets=custom_opsets() if custom else None)
    (folder / "model.onnx").write_bytes(proto.SerializeToString())
    if ir:
        convert_to_openvino(folder / "model.onnx", folder)
    return proto


def run(runtime: str, folder: Path, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    with load_runtime(runtime, folder, RuntimeOptions(threads=2)) as rt:
        return rt.infer({k: v.numpy() for k, v in inputs.items()})


def custom_nodes(proto: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in proto.graph.node if n.domain == DOMAIN]


def attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
