"""The table of export targets: what each writes, what it needs, which runtimes check it by default."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import install_hint, unknown

__all__ = ["Target", "TARGETS", "get_target"]


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    artefacts: tuple[str, ...]
    parity_runtimes: tuple[str, ...]  # runtimes that check it when --runtimes is not given
    needs: str  # what must be installed to build the artefacts
    precisions: tuple[str, ...] = ("fp32",)
    #: runtimes `python -m edgeattn.verify` checks the bundle with by default (stored in the manifest);
    #: empty: the same as parity_runtimes
    verify_runtimes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.verify_runtimes:
            object.__setattr__(self, "verify_runtimes", self.parity_runtimes)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("onnx", "plain ONNX (standard ops, opset from --opset)", ("model.onnx",), ("ort",),
               "torch, onnx (+ onnxruntime for the parity check)"),
        Target("ort", "ONNX for ONNX Runtime", ("model.onnx",), ("ort",), install_hint('ort'),
               ("fp32", "int8")),
        Target("openvino", "OpenVINO IR (model.xml/.bin) beside the ONNX", ("model.onnx", "model.xml", "model.bin"),
               ("openvino",), install_hint('openvino'),
               ("fp32", "fp16", "bf16", "fp16-weights", "int8")),
        Target("trt", "TensorRT-ready ONNX, audit against the TensorRT parser, build_engine.sh (trtexec)",
               ("model.onnx", "build_engine.sh"), ("ort",),
               "nothing to write the recipe; TensorRT + GPU to build/run the engine", ("fp32", "fp16", "int8"),
               # at export the engine does not exist yet (it is built on the device): ORT checks the ONNX it is
               # built from; on the device, verify checks model.engine on TensorRT
               verify_runtimes=("tensorrt",)),
    ]
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise unknown("target", name, TARGETS) from None
