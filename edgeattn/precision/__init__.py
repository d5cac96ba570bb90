"""Lower precisions with proven accuracy: INT8 (ORT Q/DQ, NNCF for OpenVINO, Q/DQ for TensorRT), fp16 (float16
ONNX with float32 islands for TensorRT; OpenVINO's executed precision read back), per-block sensitivity, and
the task-metric bound against fp32 on held-out data."""

from __future__ import annotations

from .apply import SUPPORTED, PrecisionOutcome, apply_precision, check_supported
from .bounds import MAX_DROP, AccuracyReport, default_max_drop, judge, task_metric
from .config import CALIBRATION_METHODS, PrecisionConfig, parse_keep_float

__all__ = ["SUPPORTED", "PrecisionOutcome", "apply_precision", "check_supported", "MAX_DROP",
           "AccuracyReport", "default_max_drop", "judge", "task_metric", "CALIBRATION_METHODS", "PrecisionConfig",
           "parse_keep_float", "precision_config"]


def precision_config(export_config) -> PrecisionConfig:
    """Map an ExportConfig's precision fields onto a PrecisionConfig (one to one)."""
    c = export_config
    return PrecisionConfig(precision=c.precision, target=c.target, keep_float=parse_keep_float(c.keep_float),
                           calibration=c.calibration, calib_samples=c.calib_samples, eval_samples=c.eval_samples,
                           max_drop=c.max_drop, seed=c.seed, threads=c.threads, weights=c.int8_weights)
