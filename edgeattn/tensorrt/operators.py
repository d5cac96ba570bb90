"""TensorRT's ONNX parser support, as data: which ops it imports, for which types, with which restrictions.

Source: onnx/onnx-tensorrt `docs/operators.md` at tag 10.1-GA (commit 96e781103cfc4adf4a6bb557e94bac8e693f6f4c,
2024-06-17), the newest TensorRT 10.x edition of the support matrix reachable from this project's machines; it
states "TensorRT 10.0 supports operators in the inclusive range of opset 9 to opset 20". Changes up to 10.3 (the
TensorRT of JetPack 6.1) and later come from onnx-tensorrt's CHANGELOG.md: 10.2 made minor importer changes
(GRU, Squeeze); 10.3 added tensor `axes` inputs for Slice; 10.4 tensor `axes` for Pad; 10.7 dynamic axes for
Squeeze/Unsqueeze.
`TRT_SINCE` records those so the audit can say which TensorRT a graph needs. The tables were transcribed from
the Markdown table (types and restriction text verbatim, typos included), not re-derived; re-transcribe when
moving to a newer TensorRT.
"""

from __future__ import annotations

__all__ = [
    "TRT_SOURCE", "TRT_TARGET_VERSION", "TRT_OPSET_RANGE", "TRT_UNSUPPORTED_OPS", "TRT_OP_TYPES",
    "TRT_RESTRICTIONS", "TRT_SINCE", "TRT_TENSOR_TYPES", "TRT_IO_ONLY_TYPES", "TRT_TOPK_MAX_K",
]

TRT_SOURCE = ("onnx-tensorrt docs/operators.md @ 10.1-GA (96e7811), with CHANGELOG.md entries for 10.2-10.3; "
              "opset range 9..20 for TensorRT 10.x (JetPack 6 ships TensorRT 10.3)")

#: the TensorRT the audit targets by default: JetPack 6.x (L4T r36.x) ships TensorRT 10.3
TRT_TARGET_VERSION: tuple[int, int] = (10, 3)

#: default-domain opsets the parser accepts ("inclusive range of opset 9 to opset 20")
TRT_OPSET_RANGE: tuple[int, int] = (9, 20)

#: data types TensorRT 10 imports ("DOUBLE ... BOOL" in the header of operators.md). DOUBLE is cast down to
#: FLOAT; INT8/INT4/FP8 only as quantized types through Q/DQ; UINT8 only as a network input or output.
TRT_TENSOR_TYPES = ("DOUBLE", "FP32", "FP16", "BF16", "INT32", "INT64", "FP8", "INT8", "INT4", "UINT8", "BOOL")
TRT_IO_ONLY_TYPES = ("UINT8",)

#: ops marked 'N' in the matrix
TRT_UNSUPPORTED_OPS = tuple("""
    AffineGrid Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Col2Im CenterCropPad
    Compress ConcatFromSequence ConvInteger DFT Det DynamicQuantizeLinear HammingWindow HannWindow ImageDecoder
    MatMulInteger MaxRoiPool MaxUnpool MelWeightMatrix Multinomial NegativeLogLikelihoodLoss Optional
    OptionalGetElement OptionalHasElement QLinearConv QLinearMatMul RegexFullMatch STFT SequenceAt
    SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap
    SoftmaxCrossEntropyLoss SplitToSequence StringConcat StringNormalizer StringSplit TfIdfVectorizer Unique
""".split())

F = ("FP32", "FP16", "BF16")
FI = (*F, "INT32", "INT64")
FIB = (*FI, "BOOL")
F16 = ("FP32", "FP16")
B = ("BOOL",)

_GROUPS: list[tuple[tuple[str, ...], str]] = [
    (FI, """
        Abs Add ArgMax ArgMin DepthToSpace Div Equal Greater GreaterOrEqual IsNaN Less LessOrEqual
        Max Min Mod Mul Neg Pad Range ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax
        ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Scatter ScatterElements
        ScatterND Shrink Sign SpaceToDepth Sub Sum TopK
    """),
    (F, """
        Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Ceil Celu Clip Conv
        ConvTranspose Cos Cosh CumSum Dropout Einsum Elu Erf Exp Floor Gemm GlobalAveragePool
        GlobalLpPool GlobalMaxPool GroupNormalization GRU HardSigmoid HardSwish Hardmax ImageScaler
        InstanceNormalization IsInf LayerNormalization LeakyRelu Log LogSoftmax LRN LSTM
        LpNormalization LpPool MatMul MaxPool MeanVarianceNormalization ParametricSoftplus Pow PRelu
        QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Reciprocal
        Resize RNN Round ScaledTanh Scan Selu Sigmoid Sin Sinh Softmax Softplus Softsign Sqrt Tan
        Tanh ThresholdedRelu Upsample
    """),
    (B, """
        And Not Or Xor
    """),
    (('FP32', 'FP16', 'BF16', 'INT32', 'INT64', 'UINT8', 'BOOL'), """
        Cast CastLike
    """),
    (FIB, """
        Concat Constant ConstantOfShape Expand EyeLike Flatten Gather GatherElements GatherND
        Identity If Loop OneHot Reshape ReverseSequence Shape Size Slice Split Squeeze Tile
        Transpose Trilu Unsqueeze Where
    """),
    (F16, """
        DeformConv GridSample Mish NonMaxSuppression NonZero RoiAlign
    """),
    (('INT8', 'FP8', 'INT4'), """
        DequantizeLinear
    """),
    (('FP32', 'FP16', 'BF16', 'INT8', 'INT32', 'INT64'), """
        Gelu
    """),
    (('FP32', 'FP16', 'BF16', 'FP8', 'INT32', 'INT64'), """
        Mean
    """),
]

#: op -> the "Supported Types" column for every op marked 'Y'
TRT_OP_TYPES: dict[str, tuple[str, ...]] = {op: types for types, ops in _GROUPS for op in ops.split()}

#: op -> the "Restrictions" column, verbatim
TRT_RESTRICTIONS: dict[str, str] = {
    "AveragePool": '2D or 3D Pooling only. dilations must be empty or all ones',
    "Constant": 'sparse_value, value_string, and value_strings attributes are unsupported.',
    "CumSum": 'axis must be an initializer',
    "DeformConv": (
        'input must have 1D or 2D spatial dimensions. pads for the beginning and end along each spatial axis '
        'must be the same'
    ),
    "DequantizeLinear": 'x_zero_point must be zero',
    "Dropout": 'is_traning must be an initializer and evaluate to False.',
    "EyeLike": 'input must have static dimensions',
    "GridSample": 'Input must be 4D input.',
    "GRU": 'For bidirectional GRUs, activation functions must be the same for both the forward and reverse pass',
    "Hardmax": 'axis dimension of input must be a build-time constant',
    "If": 'Output tensors of the two conditional branches must have the same rank and must have different names',
    "LayerNormalization": 'Only the first output Y is supported.',
    "Loop": (
        'Scan output length cannot be dynamic. The shape of Loop carried dependencies must be the same across'
        ' all loop iterations.'
    ),
    "LSTM": (
        'For bidirectional LSTMs, activation functions must be the same for both the forward and reverse '
        'pass. input_forget attribute must be 0. layout attribute must be 0.'
    ),
    "LpPool": 'dilations must be empty or all ones',
    "MaxPool": '2D or 3D pooling only. Indices output tensor unsupported. dilations must be empty or all ones',
    "OneHot": 'depth must be a build-time constant',
    "Pad": 'axes must be an initializer',
    "QuantizeLinear": 'y_zero_point must be 0',
    "RandomNormal": 'seed value is ignored by TensorRT',
    "RandomNormalLike": 'seed value is ignored by TensorRT',
    "RandomUniform": 'seed value is ignored by TensorRT',
    "RandomUniformLike": 'seed value is ignored by TensorRT',
    "ReduceL1": 'axes must be an initializer',
    "ReduceL2": 'axes must be an initializer',
    "ReduceLogSum": 'axes must be an initializer',
    "ReduceLogSumExp": 'axes must be an initializer',
    "ReduceMax": 'axes must be an initializer',
    "ReduceMean": 'axes must be an initializer',
    "ReduceMin": 'axes must be an initializer',
    "ReduceProd": 'axes must be an initializer',
    "ReduceSum": 'axes must be an initializer',
    "ReduceSumSquare": 'axes must be an initializer',
    "Resize": (
        'Supported resize transformation modes: half_pixel, pytorch_half_pixel, tf_half_pixel_for_nn, '
        'asymmetric, and align_corners. Supported resize modes: nearest, linear. Supported nearest modes: '
        'floor, ceil, round_prefer_floor, round_prefer_ceil. Supported aspect ratio policy: stretch. When '
        'scales is a tensor input, axes must be an iota vector of length rank(input). Antialiasing is not '
        'supported.'
    ),
    "RNN": 'For bidirectional RNNs, activation functions must be the same for both the forward and reverse pass',
    "ScatterND": 'reduction is not supported',
    "Slice": 'axes must be an initializer',
    "Squeeze": 'axes must be an initializer',
    "TopK": 'sorted must be 1. K input must be less than 3840.',
    "Unsqueeze": 'axes must be a constant tensor',
}

#: (op, restriction) -> the TensorRT version that lifted it (from CHANGELOG.md)
TRT_SINCE: dict[tuple[str, str], tuple[int, int]] = {
    ("Slice", "axes"): (10, 3),  # "Added support for tensor `axes` inputs for `Slice` nodes"
    ("Pad", "axes"): (10, 4),  # "Added support for tensor `axes` for `Pad` operations"
    ("Squeeze", "axes"): (10, 7),  # "Added dynamic axes support for `Squeeze` and `Unsqueeze` operations"
    ("Unsqueeze", "axes"): (10, 7),
}

#: TopK: "K input must be less than 3840"
TRT_TOPK_MAX_K = 3840
