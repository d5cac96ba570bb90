"""TensorRT's ONNX parser tables per TensorRT version, so the audit judges a graph with the table of the TensorRT the
device runs: 10.3 (JetPack 6.x), 10.16 (JetPack 7.2) and 11.4 (JetPack >= 7.2.2).

Sources (facts carried over, not code; checked 2026-12):
- 10.3: `operators.py` (onnx-tensorrt docs/operators.md @ tag 10.1-GA, commit 96e7811, plus CHANGELOG.md to 10.3).
- 10.16: onnx-tensorrt docs/operators.md, the TensorRT **10.15** edition ("TensorRT 10.15 supports operators in the
  inclusive range of opset 9 to opset 24"; data types adding FP4; Attention, RotaryEmbedding, RMSNormalization,
  TensorScatter marked Y). It is the newest edition reachable from this project's machines: the onnx-tensorrt mirror
  here ends at 10.1-GA and no 10.16 edition of the file is stored; the stored 10.15 copy's commit is not known here.
  The parser changes of 10.16 itself were not found (TensorRT's and onnx-tensorrt's 10.16 release notes list
  none here), so 10.16 = the 10.15 matrix. UNVERIFIED: a change 10.16 made to the matrix is not known.
- 11.4: the 10.16 table plus the parser entries of the TensorRT GitHub release notes (github.com/NVIDIA/TensorRT
  releases v11.0 771d8ef, v11.1 82d1dca, v11.2 1dade06, v11.3 98adec8, v11.4 16ed063) and the 11.0.0 / 11.2.1
  release notes on docs.nvidia.com: 11.0 added the `Swish` operator and the custom operators `TRT_Attention`,
  `TRT_MoE`, `TRT_KVCacheUpdate` (schemas: onnx-tensorrt docs/TRT_custom_ops.md, stored commit 2f3fa34) and made
  strongly typed networks the only kind (weak typing removed); 11.1 made TRT_Attention accept ragged batches; 11.2
  added `DFT` (a cuFFT plugin) and 11.2.1 3-D GridSample (rank-5 input, FP32/FP16/BF16); 11.3 and 11.4 changed no
  operator. Opset 25 came with 11.5 ("Added support for ONNX opset 25"), so 11.4 accepts opset 9..24. No 11.x
  edition of operators.md is reachable here: types of the ops 11.x added are not transcribed (no type finding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .operators import (
    TRT_IO_ONLY_TYPES,
    TRT_OP_TYPES,
    TRT_OPSET_RANGE,
    TRT_RESTRICTIONS,
    TRT_SOURCE,
    TRT_TENSOR_TYPES,
    TRT_TARGET_VERSION,
    TRT_UNSUPPORTED_OPS,
)

__all__ = ["TrtTable", "TRT_TABLES", "OPS_SINCE", "trt_table", "table_version"]

#: op -> the TensorRT whose parser first imports it (CHANGELOG.md of onnx-tensorrt and the release notes above)
OPS_SINCE: dict[str, tuple[int, int]] = {
    "BlackmanWindow": (10, 4), "HammingWindow": (10, 4), "HannWindow": (10, 4),  # 10.4 GA
    "STFT": (10, 5),  # 10.5 GA: real-valued STFT
    "Attention": (10, 14),  # 10.14 GA
    "RotaryEmbedding": (10, 15), "RMSNormalization": (10, 15), "TensorScatter": (10, 15),  # 10.15 GA
    "Swish": (11, 0), "TRT_Attention": (11, 0), "TRT_MoE": (11, 0), "TRT_KVCacheUpdate": (11, 0),  # 11.0
    "DFT": (11, 2),  # 11.2 (FFTPlugin)
}

#: TensorRT's own ONNX ops (no ONNX schema; the parser imports them by op_type)
TRT_CUSTOM_OPS = ("TRT_Attention", "TRT_MoE", "TRT_KVCacheUpdate")


@dataclass(frozen=True)
class TrtTable:
    """One TensorRT version's parser table, the fields of `operators.py` plus the Q/DQ rules that differ."""

    version: tuple[int, int]
    source: str
    opset_range: tuple[int, int]
    tensor_types: tuple[str, ...]
    io_only_types: tuple[str, ...]
    unsupported_ops: tuple[str, ...]
    op_types: dict[str, tuple[str, ...]]  # op -> "Supported Types"
    restrictions: dict[str, str]  # op -> "Restrictions", verbatim
    untyped_ops: tuple[str, ...] = ()  # imported, types not transcribed (release notes only)
    qdq_types: tuple[str, ...] = ("INT8", "FP8", "INT4")  # what DequantizeLinear takes / QuantizeLinear makes
    qdq_block: bool = False  # block quantization (a scale of the input's rank, ONNX `block_size`)
    gridsample_ranks: tuple[int, ...] = (4,)
    strongly_typed: bool = False  # 11.x: no weak typing; FP16 = a float16 ONNX, INT8 = Q/DQ
    notes: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return ".".join(map(str, self.version))

    def supports(self, op: str) -> bool:
        return op in self.op_types or op in self.untyped_ops


TRT_10_3 = TrtTable(
    version=TRT_TARGET_VERSION, source=TRT_SOURCE, opset_range=TRT_OPSET_RANGE, tensor_types=TRT_TENSOR_TYPES,
    io_only_types=TRT_IO_ONLY_TYPES, unsupported_ops=TRT_UNSUPPORTED_OPS, op_types=dict(TRT_OP_TYPES),
    restrictions=dict(TRT_RESTRICTIONS))

# --- TensorRT 10.16: the 10.15 edition of operators.md ---------------------------------------------------------

_UNSUPPORTED_10_15 = tuple("""
    AffineGrid Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor Col2Im CenterCropPad Compress
    ConcatFromSequence ConvInteger DFT Det DynamicQuantizeLinear ImageDecoder MatMulInteger MaxRoiPool MaxUnpool
    MelWeightMatrix Multinomial NegativeLogLikelihoodLoss Optional OptionalGetElement OptionalHasElement QLinearConv
    QLinearMatMul RegexFullMatch SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert
    SequenceLength SequenceMap SoftmaxCrossEntropyLoss SplitToSequence StringConcat StringNormalizer StringSplit
    TfIdfVectorizer Unique
""".split())

_F = ("FP32", "FP16", "BF16")
_FI = (*_F, "INT32", "INT64")
_FIB = (*_FI, "BOOL")
_F16 = ("FP32", "FP16")

_GROUPS_10_15: list[tuple[tuple[str, ...], str]] = [
    (_FI, """
        Abs Add ArgMax ArgMin DepthToSpace Div Equal Greater GreaterOrEqual IsNaN Less LessOrEqual Max Min Mod Mul
        Neg Pad Pow Range ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd
        ReduceSum ReduceSumSquare Relu Scatter ScatterElements ScatterND Shrink Sign SpaceToDepth Sub Sum TopK
    """),
    (_F, """
        Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Ceil Celu Clip Conv ConvTranspose Cos Cosh
        CumSum Dropout Einsum Elu Erf Exp Floor Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool GroupNormalization
        GRU HardSigmoid HardSwish Hardmax ImageScaler InstanceNormalization IsInf LayerNormalization LeakyRelu Log
        LogSoftmax LRN LSTM LpNormalization LpPool MatMul MaxPool MeanVarianceNormalization ParametricSoftplus PRelu
        QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Reciprocal Resize
        RMSNormalization RNN RotaryEmbedding Round ScaledTanh Scan Selu Sigmoid Sin Sinh Softmax Softplus Softsign
        Sqrt Tan Tanh ThresholdedRelu Upsample
    """),
    (("BOOL",), "And Not Or Xor"),
    (("FP32", "FP16", "BF16", "INT32", "INT64", "UINT8", "BOOL"), "Cast CastLike"),
    (_FIB, """
        Concat Expand EyeLike Flatten Gather GatherElements GatherND Identity If Loop OneHot Reshape ReverseSequence
        Shape Size Slice Split Squeeze Tile Transpose Trilu Unsqueeze Where
    """),
    (("FP32", "FP16", "BF16", "FP8", "FP4", "INT4", "INT32", "INT64", "BOOL"), "Constant ConstantOfShape"),
    (_F16, "BlackmanWindow DeformConv GridSample HammingWindow HannWindow Mish NonMaxSuppression NonZero RoiAlign"),
    (("FP32",), "STFT"),
    (("INT8", "FP8", "FP4", "INT4"), "DequantizeLinear"),
    (("FP32", "FP16", "BF16", "INT8", "INT32", "INT64"), "Gelu"),
    (("FP32", "FP16", "BF16", "FP8", "INT32", "INT64"), "Mean"),
    (("FP32", "FP16", "BF16", "INT8", "FP8"), "Attention"),
    (("FP32", "FP16", "BF16", "INT32"), "TensorScatter"),
]

_RESTRICTIONS_10_15: dict[str, str] = {
    **{op: text for op, text in TRT_RESTRICTIONS.items() if op not in ("Pad", "Slice")},  # 10.3 lifted Slice, 10.4 Pad
    "Attention": (
        'Q, K, V and attn_mask  must be 4D. past_key, past_value and nonpad_kv_seqlen inputs are unsupported. '
        'present_key, present_value and qk_matmul_output outputs are unsupported. qk_matmul_output_mode and softcap '
        "attributes are unsupported. q_num_heads and kv_num_heads attributes are supported via being specified as "
        "the second dimension of Q and K/V's shapes respectively."
    ),
    "CumSum": 'axis must be a build-time constant',
    "Dropout": 'is_training must be an initializer and evaluate to False.',
    "RotaryEmbedding": 'position_ids must be INT64',
    "STFT": 'frame_step and window must be an initializer. Input must be real-valued.',
    "ScatterND": 'reduction other than none is not supported',
    "Squeeze": 'axes must be resolvable to a constant.',
    "TensorScatter": 'past_cache and update must be 4D. axis must be -2.',
    "Unsqueeze": 'axes must be resolvable to a constant.',
}

TRT_10_16 = TrtTable(
    version=(10, 16),
    source="onnx-tensorrt docs/operators.md, TensorRT 10.15 edition (opset 9..24; the newest edition reachable here; "
           "no 10.16 parser change known) for TensorRT 10.16 (JetPack 7.2)",
    opset_range=(9, 24),
    tensor_types=("DOUBLE", "FP32", "FP16", "BF16", "FP8", "FP4", "INT32", "INT64", "INT8", "INT4", "UINT8", "BOOL"),
    io_only_types=("UINT8",),
    unsupported_ops=_UNSUPPORTED_10_15,
    op_types={op: types for types, ops in _GROUPS_10_15 for op in ops.split()},
    restrictions=_RESTRICTIONS_10_15,
    qdq_types=("INT8", "FP8", "FP4", "INT4"),
    qdq_block=True,
)

# --- TensorRT 11.4: 10.16 plus the 11.0 .. 11.4 parser entries of the release notes -----------------------------

TRT_11_4 = TrtTable(
    version=(11, 4),
    source="TensorRT 10.16's table (onnx-tensorrt operators.md, 10.15 edition) plus the parser entries of the "
           "TensorRT 11.0-11.4 release notes (Swish, TRT_Attention/TRT_MoE/TRT_KVCacheUpdate in 11.0, DFT and 3-D "
           "GridSample in 11.2); opset 9..24 (opset 25 came with 11.5); strongly typed only",
    opset_range=(9, 24),
    tensor_types=TRT_10_16.tensor_types,
    io_only_types=("UINT8",),
    unsupported_ops=tuple(op for op in _UNSUPPORTED_10_15 if op != "DFT"),
    op_types=TRT_10_16.op_types,
    restrictions={**_RESTRICTIONS_10_15,
                  "GridSample": "Input must be 4D (2-D sampling) or 5D (3-D sampling, TensorRT >= 11.2.1)."},
    untyped_ops=("Swish", "DFT", *TRT_CUSTOM_OPS),
    qdq_types=TRT_10_16.qdq_types,
    qdq_block=True,
    gridsample_ranks=(4, 5),
    strongly_typed=True,
    notes=("TensorRT 11 builds strongly typed networks only: FP16 comes from a float16 ONNX, INT8/FP8/INT4/FP4 from "
           "Q/DQ nodes; the builder's precision flags and calibrators are gone",),
)

#: the transcribed tables, by (major, minor)
TRT_TABLES: dict[tuple[int, int], TrtTable] = {t.version: t for t in (TRT_10_3, TRT_10_16, TRT_11_4)}


def table_version(version: tuple[int, int]) -> tuple[int, int]:
    """The transcribed table a TensorRT version is judged with: its own, else the newest older one (10.3 for
    anything older than 10.3)."""
    if version in TRT_TABLES:
        return version
    older = [v for v in TRT_TABLES if v <= version]
    return max(older) if older else TRT_TARGET_VERSION


def trt_table(version: tuple[int, int] | None = None) -> TrtTable:
    return TRT_TABLES[table_version(version or TRT_TARGET_VERSION)]
