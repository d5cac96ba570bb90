"""Typed configuration of the precision step; the export CLI maps its precision flags onto it one to one."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidOptionError, unknown

__all__ = ["PrecisionConfig", "CALIBRATION_METHODS", "KEEP_FLOAT_MODES", "parse_keep_float"]

CALIBRATION_METHODS = ("auto", "minmax", "entropy", "percentile")  # auto: measure all three, keep the best
KEEP_FLOAT_MODES = ("auto", "none")  # or a comma-separated list of block names / node names


def parse_keep_float(text: str) -> tuple[str, ...]:
    """'auto' -> ('auto',); 'none' -> (); 'a,b' -> ('a', 'b') (block or node names, checked against the graph)."""
    text = (text or "").strip()
    if text in ("", "auto"):
        return ("auto",)
    if text == "none":
        return ()
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if any(n in KEEP_FLOAT_MODES for n in names):
        raise InvalidOptionError(f"--keep-float {text!r}: use 'auto', 'none' or a list of names, not a mix")
    return names


@dataclass(frozen=True)
class PrecisionConfig:
    precision: str = "int8"  # int8 | fp16
    target: str = "ort"  # ort | openvino | trt
    keep_float: tuple[str, ...] = ("auto",)  # ("auto",) | () = none | block/node names
    calibration: str = "auto"  # auto | minmax | entropy | percentile
    calib_samples: int = 8  # calibration images from the training generator (seed stream [seed, 2])
    eval_samples: int = 8  # held-out images for the task metric (seed stream [seed, 1], as training's held-out set)
    max_drop: float | None = None  # None: the task's default (precision/bounds.py)
    sensitivity_share: float = 0.25  # auto keeps a block in float when quantizing it alone costs > share * max_drop
    seed: int = 0
    threads: int | None = None
    weights: str = "per-channel"  # per-channel | per-tensor (int8 weight scales; per-tensor only to compare)

    def check(self) -> None:
        if self.calibration not in CALIBRATION_METHODS:
            raise unknown("calibration method", self.calibration, CALIBRATION_METHODS)
        for name, value in (("--calib-samples", self.calib_samples), ("--eval-samples", self.eval_samples)):
            if not 1 <= value <= 10_000:  # each sample is a forward pass (and memory) at the export size
                raise InvalidOptionError(f"{name} must be in 1..10000, got {value}")
        if self.max_drop is not None and not (self.max_drop >= 0 and math.isfinite(self.max_drop)):
            raise InvalidOptionError(f"--max-drop must be a finite number >= 0 (an infinite drop accepts any model), "
                                     f"got {self.max_drop}; pass e.g. --max-drop 0.02")
        if self.weights not in ("per-channel", "per-tensor"):
            raise unknown("int8 weight granularity", self.weights, ("per-channel", "per-tensor"))
        if not 0 < self.sensitivity_share <= 1:
            raise InvalidOptionError(f"sensitivity share must lie in (0, 1], got {self.sensitivity_share}")
        self.check_installed()

    def check_installed(self) -> None:
        """Before any long work: what the precision step will import (ORT measures every lower precision)."""
        import importlib.util

        from ..errors import MissingDependencyError

        if self.precision not in ("int8", "fp16") or (self.precision == "fp16" and self.target != "trt"):
            return
        need = [("onnxruntime", "ort")]
        if self.precision == "int8" and self.target == "openvino":
            need += [("openvino", "openvino"), ("nncf", "openvino-int8")]
        for module, extra in need:
            if importlib.util.find_spec(module) is None:
                raise MissingDependencyError(f"--precision {self.precision} --target {self.target} needs {module}: "
                                             f"pip install 'edgeattn[{extra}]' (or -e '.[{extra}]' in a checkout)")
