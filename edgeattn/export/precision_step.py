"""The export's precision hooks: its flags checked up front, and the one call into `edgeattn.precision`.

Split out of pipeline.py so that the pipeline reads as its steps; what each precision does to the graph is in
`edgeattn/precision` (int8 Q/DQ, fp16 islands, bf16, fp16 weights).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..models import ModelSpec
from ..errors import InvalidOptionError
from .config import ExportConfig

__all__ = ["check_precision_options", "apply_export_precision"]


_PRECISION_FLAGS = {"keep_float": "--keep-float", "calibration": "--calibration", "calib_samples": "--calib-samples",
                    "eval_samples": "--eval-samples", "max_drop": "--max-drop", "int8_weights": "--int8-weights"}


def check_precision_options(config: ExportConfig) -> None:
    """Quantization flags apply to --precision int8 (the accuracy ones also to trt fp16); never silently ignored."""
    from ..precision import precision_config

    default = ExportConfig(model=config.model)
    used = [flag for key, flag in _PRECISION_FLAGS.items() if getattr(config, key) != getattr(default, key)]
    if config.precision == "int8":
        allowed = set(_PRECISION_FLAGS.values())
    elif config.precision == "fp16" and config.target == "trt":
        allowed = {"--eval-samples", "--max-drop"}
    else:
        allowed = set()
    bad = [f for f in used if f not in allowed]
    if bad:
        raise InvalidOptionError(f"{', '.join(bad)} apply to --precision int8 (--eval-samples/--max-drop also to "
                                 f"--target trt --precision fp16), not --precision {config.precision} --target "
                                 f"{config.target}")
    precision_config(config).check()


def apply_export_precision(config: ExportConfig, spec: ModelSpec, size: tuple[int, int], stage: Path,
                           onnx_path: Path, num_classes: int, progress: Callable[[str], None]) -> Any:
    """Rewrite the staged model for `config.precision` (fp32: nothing, returns None); the outcome carries the
    precision report, the tolerances it adds and the accuracy-bound verdict."""
    if config.precision == "fp32":
        return None
    from ..precision import apply_precision, precision_config

    from .native_step import conversion_library

    progress(f"  precision {config.precision} for {config.target}")
    library = conversion_library(config)  # custom-op IR: its layers need this machine's compiled kernels
    return apply_precision(stage, onnx_path, target=config.target, task=spec.task,
                           input_names=[i.name for i in spec.inputs], size=size, num_classes=num_classes,
                           config=precision_config(config), progress=progress,
                           extensions=(str(library),) if library else ())
