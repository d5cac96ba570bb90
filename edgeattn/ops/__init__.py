"""Custom ONNX ops in the `edgeattn` domain: criss-cross and PatchMatch attention as one node each.

Chosen with `--custom-ops` at export (`enable_custom_ops(model)`); the default export has standard ops only.
Each op file holds the torch-side op and its lowering, a numpy reference, the ONNX Runtime kernel and the
OpenVINO mapping. The hooks below are what the runtimes and the OpenVINO converter call; every vendor
module is imported inside them, so `import edgeattn` needs neither onnxruntime-extensions nor openvino.

Exporter routes: the TorchScript exporter (edgeattn's default) with `autograd.Function.symbolic` and
`custom_opsets={"edgeattn": 1}`; the dynamo exporter (which ignores `symbolic`) with `torch.onnx.ops.symbolic`
(torch >= 2.9), chosen inside the op while that exporter traces (`patchmatch.dynamo_exporting`). Both write the
same node: op_type, domain `edgeattn` opset 1, the same attributes. The compiled kernels are edgeattn/native.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import criss_cross, patchmatch

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = ["DOMAIN", "OPSET", "OP_TYPES", "CUSTOM_OP_TARGETS", "CUSTOM_OP_RUNTIMES", "enable_custom_ops",
           "register_ort_custom_ops", "register_openvino_extensions", "reference_ops",
           "openvino_conversion_extensions", "custom_opsets"]

DOMAIN = "edgeattn"
OPSET = 1
OP_TYPES = (criss_cross.OP_TYPE, patchmatch.OP_TYPE)
#: export targets whose runtime has a kernel for the custom ops (trt: plugin contract only, not implemented)
CUSTOM_OP_TARGETS = ("onnx", "ort", "openvino")
#: parity runtimes that can run a custom-op graph
CUSTOM_OP_RUNTIMES = ("ort", "openvino", "reference")


def custom_opsets() -> dict[str, int]:
    return {DOMAIN: OPSET}


def enable_custom_ops(model: nn.Module) -> int:
    """Make every supported attention layer in `model` export as one custom node; returns how many.

    The layer asks for its op: a layer that has one implements `custom_op_module()` and returns the module to
    export in its place (criss-cross: a `CrissCrossOpAttention` sharing its parameters; PatchMatch: itself, with
    its `use_custom_op` flag on). This package therefore never imports `edgeattn.nn` (ops sit below the layers).
    Only layers on their export path are switched; the reference path stays the paper's code.
    """
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            make = getattr(child, "custom_op_module", None)
            if callable(make) and getattr(child, "path", None) == "export":
                replacement = make()
                if replacement is not child:
                    setattr(parent, name, replacement)
                count += 1
    return count


def register_ort_custom_ops(session_options) -> None:  # noqa: ANN001 - onnxruntime.SessionOptions
    """Register the ONNX Runtime kernels (onnxruntime-extensions Python ops); a no-op without the package."""
    try:
        from onnxruntime_extensions import get_library_path
    except ImportError:
        return  # standard graphs need nothing; a custom-op graph then fails to load, naming the op
    patchmatch.register_ort()
    criss_cross.register_ort()
    session_options.register_custom_ops_library(get_library_path())


def register_openvino_extensions(core) -> None:  # noqa: ANN001 - openvino.Core
    """Let `core` read custom-op ONNX files (conversion extensions) and IRs (op extensions)."""
    from openvino import OpExtension

    for ext in openvino_conversion_extensions():
        core.add_extension(ext)
    for cls in (patchmatch.openvino_op_class(), criss_cross.openvino_op_class()):
        core.add_extension(OpExtension(cls))


def reference_ops() -> list:
    """OpRun classes for onnx.reference.ReferenceEvaluator(model, new_ops=...)."""
    return [patchmatch.reference_op(), criss_cross.reference_op()]


def openvino_conversion_extensions() -> list:
    """ConversionExtensions for openvino.convert_model(onnx, extension=...)."""
    return [patchmatch.openvino_conversion_extension(), criss_cross.openvino_conversion_extension()]
