"""The table of export targets: what each writes, what it needs, which runtimes check it by default."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import unknown

__all__ = ["Target", "TARGETS", "get_target"]


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    artefacts: tuple[str, ...]
    parity_runtimes: tuple[str, ...]  # runtimes that check it when --runtimes is not given
    needs: str  # what must be installed to build the artefacts
    precisions: tuple[str, ...] = ("fp32",)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("onnx", "plain ONNX (standard ops, opset from --opset)", ("model.onnx",), ("ort",),
               "torch, onnx (+ onnxruntime for the parity check)"),
        Target("ort", "ONNX for ONNX Runtime", ("model.onnx",), ("ort",), "pip install 'edgeattn[ort]'",
               ("fp32", "int8")),
        Target("openvino", "OpenVINO IR (model.xml/.bin) beside the ONNX", ("model.onnx", "model.xml", "model.bin"),
               ("openvino",), "pip install 'edgeattn[openvino]'",
               ("fp32", "fp16", "bf16", "fp16-weights", "int8")),
        Target("trt", "TensorRT-ready ONNX, audit against the TensorRT parser, build_engine.sh (trtexec)",
               ("model.onnx", "build_engine.sh"), ("tensorrt", "ort"),
               "nothing to write the recipe; TensorRT + GPU to build/run the engine", ("fp32", "fp16", "int8")),
    ]
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise unknown("target", name, TARGETS) from None
