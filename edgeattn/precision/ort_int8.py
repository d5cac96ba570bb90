"""INT8 for ONNX Runtime (and the Q/DQ graph TensorRT builds): onnxruntime.quantization static Q/DQ.

Weights are quantized per output channel (symmetric int8); activations per tensor from calibration on task
data. The scheme follows the target:
- `ort`: uint8 asymmetric activations x int8 weights (U8S8), what ORT's x86 kernels run fastest on a CPU with
  AVX-512 VNNI (onnxruntime.quantization.quantize_static's own guidance), reduce_range off (VNNI does not
  saturate);
- `trt` (and the graph NNCF is not used for): int8 symmetric activations (zero point 0) and float biases, which
  is what TensorRT's explicit quantization accepts (tensorrt/qdq.py audits the shipped graph for it); the same
  graph is checked here on ORT.
Nodes to keep in float are excluded by name (a predicate's result): ORT then leaves them, and their inputs and
outputs, in float32 with a DequantizeLinear before and a QuantizeLinear after.
Calibration runs once per method and is cached (ranges JSON), so the sensitivity measurement re-quantizes
with different float sets without recalibrating.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ..errors import MissingDependencyError

__all__ = ["QdqScheme", "SCHEMES", "Calibration", "quantize_qdq"]


@dataclass(frozen=True)
class QdqScheme:
    name: str
    activation: str  # "uint8" | "int8"
    activation_symmetric: bool
    reason: str
    quantize_bias: bool = True  # False: biases stay float32 (no INT32 DequantizeLinear)


SCHEMES: dict[str, QdqScheme] = {
    "ort": QdqScheme("u8s8", "uint8", False, "U8S8: ORT's fastest x86 int8 kernels (VNNI); asymmetric activations "
                     "use all 256 levels after ReLU/ReLU6"),
    "trt": QdqScheme("s8s8-symmetric", "int8", True, "TensorRT explicit quantization takes int8 Q/DQ with zero "
                     "point 0 only (symmetric activations and weights); biases stay float (TensorRT's "
                     "DequantizeLinear takes INT8/FP8/INT4, not INT32; it fuses float biases itself: "
                     "edgeattn/tensorrt/qdq.py)", quantize_bias=False),
}
_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


def _ort_quant():
    try:
        from onnxruntime import quantization
    except ImportError:
        raise MissingDependencyError("--precision int8 needs ONNX Runtime's quantization tools: "
                                     "pip install 'edgeattn[ort]'") from None
    return quantization


class _Reader:
    """onnxruntime.quantization.CalibrationDataReader over a list of feeds."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        self._feeds = list(feeds)
        self._it = iter(self._feeds)

    def set_range(self, start_index: int, end_index: int) -> None:  # CalibStridedMinMax: one chunk at a time
        self._it = iter(self._feeds[start_index:end_index])

    def get_next(self):
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._feeds)

    def __len__(self) -> int:
        return len(self._feeds)


@dataclass
class Calibration:
    """Calibrated activation ranges of one method, cached in a JSON file under `folder`."""

    model: onnx.ModelProto
    feeds: list[dict[str, np.ndarray]]
    method: str
    folder: Path

    @property
    def cache(self) -> Path:
        return Path(self.folder) / f"calibration-{self.method}.json"


# ONNX Runtime logs "Please consider (to run) pre-processing before quantization" on every quantize_static call
# (about 20 per INT8 export: calibration choice and sensitivity quantize many times). The model it gets was already
# simplified and shape-inferred by onnxslim, the steps that pre-processing (quant_pre_process: shape inference and
# graph optimisation) runs, and re-running ORT's optimiser would rename the nodes --keep-float names. So the
# advice is said once per process, in edgeattn's words, instead of twenty times over the progress lines.
_PREPROCESS_NOTE = ("note: ONNX Runtime suggests quantization pre-processing; the graph it quantizes was already "
                    "simplified and shape-inferred (onnxslim), so that step is not repeated")


class _PreprocessingOnce(logging.Filter):
    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "pre-processing before quantization" not in record.getMessage():
            return True
        if not _PreprocessingOnce.said:
            _PreprocessingOnce.said = True
            print(f"  {_PREPROCESS_NOTE}", file=sys.stderr, flush=True)
        return False


@contextlib.contextmanager
def _preprocessing_note_once() -> Iterator[None]:
    root, once = logging.getLogger(), _PreprocessingOnce()
    root.addFilter(once)  # ORT logs through the root logger (logging.warning)
    try:
        yield
    finally:
        root.removeFilter(once)


def quantize_qdq(cal: Calibration, *, target: str, keep_float: Sequence[str] = (), quantize_only: Sequence[str] | None
                 = None, everything: bool = False, per_channel: bool = True) -> onnx.ModelProto:
    """Quantize `cal.model` to Q/DQ with the target's scheme.

    keep_float: node names left in float. quantize_only: when given, only these nodes are quantized (the
    sensitivity measurement). everything: also quantize ops ORT leaves in float unless asked (their inputs are
    forced through Q/DQ). per_channel=False: one weight scale per tensor (known to break MobileNet-style depthwise
    convolutions after BatchNorm folding, Krishnamoorthi 2018, arXiv:1806.08342 sec. 3.1; offered to compare).
    """
    q = _ort_quant()
    scheme = SCHEMES["trt" if target == "trt" else "ort"]
    act = q.QuantType.QUInt8 if scheme.activation == "uint8" else q.QuantType.QInt8
    extra = {
        "ActivationSymmetric": scheme.activation_symmetric,
        "WeightSymmetric": True,
        # Bounded memory at large sizes: calibrate 2 samples at a time (ranges/histograms are merged across chunks).
        # Not CalibMaxIntermediateOutputs: in onnxruntime 1.32 MinMax calibration drops the chunks it clears.
        "CalibStridedMinMax": 2 if len(cal.feeds) % 2 == 0 else 1,
        "ForceQuantizeNoInputCheck": everything,
        "QuantizeBias": scheme.quantize_bias,
    }
    if cal.method == "percentile":
        extra["CalibPercentile"] = 99.999
    with tempfile.TemporaryDirectory(prefix="edgeattn-q-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(cal.model, str(src))
        with _preprocessing_note_once():
            q.quantize_static(
                str(src), str(dst), _Reader(cal.feeds),
                quant_format=q.QuantFormat.QDQ,
                per_channel=per_channel,
                reduce_range=False,
                activation_type=act,
                weight_type=q.QuantType.QInt8,
                nodes_to_quantize=list(quantize_only) if quantize_only is not None else None,
                nodes_to_exclude=list(keep_float),
                calibrate_method=getattr(q.CalibrationMethod, _METHODS[cal.method]),
                extra_options=extra,
                calibration_cache_path=str(cal.cache),
            )
        return onnx.load(str(dst))
