"""Operator support tables per target, kept as data with their sources.

`UNSUPPORTED[target]` maps an op_type to why the target cannot run it; `RESTRICTED[target]` maps an op_type
to the condition under which it runs. `OPSET_RANGE[target]` is the range of default-domain opsets the
target's ONNX importer accepts. The audit (`audit.py`) reads these; nothing else hard-codes op names.
"""

from __future__ import annotations

__all__ = ["SOURCES", "UNSUPPORTED", "RESTRICTED", "OPSET_RANGE", "HOSTILE_PREFIXES", "HOSTILE_OPS"]

SOURCES = {
    "trt": "onnx-tensorrt docs/operators.md (operator support matrix of the ONNX parser) and the TensorRT 10.3 "
    "release notes (JetPack 6: parser accepts opset <= 20)",
    "openvino": "checked by converting with the installed OpenVINO ONNX frontend (ops it cannot convert stay "
    "as framework nodes)",
    "ort": "ONNX Runtime CPU execution provider implements every default-domain op of the opsets it accepts",
    "onnx": "plain ONNX: any default-domain op of the chosen opset",
}

# Ops the TensorRT ONNX parser rejects (marked 'N' in the support matrix).
_TRT_UNSUPPORTED_OPS = [
    "BitShift", "Compress", "ConcatFromSequence", "ConvInteger", "Det", "DynamicQuantizeLinear", "Hardmax",
    "IsInf", "MatMulInteger", "MaxRoiPool", "MaxUnpool", "MeanVarianceNormalization", "Mod", "Multinomial",
    "NegativeLogLikelihoodLoss", "NonZero", "OneHot", "QLinearConv", "QLinearMatMul", "RandomNormal",
    "RandomNormalLike", "RoiAlign", "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase",
    "SequenceInsert", "SequenceLength", "Shrink", "SoftmaxCrossEntropyLoss", "SplitToSequence",
    "StringNormalizer", "TfIdfVectorizer", "Unique",
]

UNSUPPORTED: dict[str, dict[str, str]] = {
    "trt": {op: "not supported by the TensorRT ONNX parser" for op in _TRT_UNSUPPORTED_OPS},
    "openvino": {},
    "ort": {},
    "onnx": {},
}

RESTRICTED: dict[str, dict[str, str]] = {
    "trt": {
        "Conv": "2D or 3D only; weights W must be an initializer",
        "ConvTranspose": "2D or 3D only; weights W must be an initializer",
        "Slice": "axes must be an initializer",
        "Squeeze": "axes must be an initializer",
        "Unsqueeze": "axes must be a constant tensor",
        "TopK": "K must be an initializer",
        "CumSum": "axis must be an initializer",
        "Einsum": "no ellipsis, no diagonal operations, no broadcasting between inputs",
        "Resize": "modes nearest/linear only; coordinate modes half_pixel, pytorch_half_pixel, "
        "tf_half_pixel_for_nn, asymmetric, align_corners",
        "MaxPool": "2D or 3D only; the Indices output is unsupported",
        "AveragePool": "2D or 3D only",
        "InstanceNormalization": "scale and B must be initializers; input rank 3..5",
        "RandomUniform": "the seed is ignored (results differ from other runtimes)",
        "RandomUniformLike": "the seed is ignored (results differ from other runtimes)",
        "GridSample": "4-D input only",
        "If": "both branches must produce broadcastable shapes with different names",
    },
    "openvino": {},
    "ort": {},
    "onnx": {},
}

OPSET_RANGE: dict[str, tuple[int, int]] = {
    "trt": (9, 20),  # TensorRT 10.3 on JetPack 6
    "openvino": (7, 22),
    "ort": (7, 22),
    "onnx": (7, 23),
}

# Export-hostile ops: they run, but they are slow, data-dependent, or unportable on edge runtimes.
HOSTILE_PREFIXES = ("Gather", "Scatter", "Random")
HOSTILE_OPS = {
    "NonZero": "data-dependent output shape",
    "Loop": "control flow; breaks fusion and static-shape engines",
    "If": "control flow; breaks fusion and static-shape engines",
    "Einsum": "runs slowly on ONNX Runtime and is restricted on TensorRT; use MatMul",
}
