"""The accuracy bound of a lower precision: the task metric on held-out data, against fp32, with a maximum drop.

The metric is the task's own (segmentation mIoU, dehazing PSNR in dB, flow EPE in px) against the ground truth
of held-out synthetic samples (precision/data.py), computed for the fp32 graph and for the lower-precision one on
the same samples. The drop is measured in the metric's units, in the direction that hurts (mIoU and PSNR down,
EPE up). Over `--max-drop` the export is refused (exit 1) and its bundle is kept apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..data.metrics import epe, mean_iou, psnr
from .data import TaskSample

__all__ = ["MaxDrop", "MAX_DROP", "AccuracyReport", "task_metric", "judge", "default_max_drop"]


@dataclass(frozen=True)
class MaxDrop:
    metric: str
    higher_is_better: bool
    max_drop: float
    reason: str


# Per-task defaults of --max-drop, stated in docs/precision.md. Units are those of the metric.
MAX_DROP: dict[str, MaxDrop] = {
    "segmentation": MaxDrop(
        "mIoU", True, 0.02,
        "2 mIoU points: INT8 post-training quantization of MobileNet-class segmenters is reported within ~1 point "
        "of fp32 on Cityscapes-like data; the held-out set here is small (8 scenes by default), so the bar leaves "
        "about one point of sampling noise on top"),
    "dehazing": MaxDrop(
        "PSNR", True, 0.5,
        "0.5 dB: below what is visible side by side, and a tenth of the >= 6 dB the trained models gain over the "
        "hazy input; 8-bit activations alone bound the output near 48 dB, far above the models' ~20-30 dB"),
    "flow": MaxDrop(
        "EPE", False, 0.25,
        "0.25 px of end-point error: a quarter pixel, below the one-pixel accuracy that flow benchmarks call "
        "correct, and small against the trained models' EPE of a few px on these pairs"),
}


def default_max_drop(task: str) -> MaxDrop:
    from ..errors import InvalidOptionError

    if task not in MAX_DROP:
        raise InvalidOptionError(f"no accuracy bound for task {task!r}: lower precisions are judged for "
                                 f"{', '.join(MAX_DROP)} models")
    return MAX_DROP[task]


def task_metric(task: str, outputs: Sequence[np.ndarray], samples: Sequence[TaskSample]) -> float:
    """The task metric over all samples at once (mIoU over the pooled confusion matrix, PSNR over all pixels)."""
    if task == "segmentation":
        pred = np.concatenate([o.argmax(axis=1) for o in outputs])
        labels = np.concatenate([s.target["labels"] for s in samples])
        return mean_iou(pred, labels, outputs[0].shape[1])
    if task == "dehazing":
        pred = np.concatenate([np.clip(o, 0, 1) for o in outputs])  # a deployed dehazer's output is clipped
        return psnr(pred, np.concatenate([s.target["clean"] for s in samples]))
    if task == "flow":
        return epe(np.concatenate(list(outputs)), np.concatenate([s.target["flow"] for s in samples]))
    raise ValueError(f"no task metric for {task!r}")


@dataclass
class AccuracyReport:
    task: str
    metric: str
    precision: str
    fp32: float
    value: float
    drop: float  # >0: worse than fp32, in the metric's units
    max_drop: float
    samples: int
    size: list[int]
    passed: bool
    reason: str  # why the bound is what it is

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        verdict = "within" if self.passed else "OVER"
        return (f"{self.metric} on {self.samples} held-out {self.task} samples at {self.size[0]}x{self.size[1]}: "
                f"fp32 {self.fp32:.4f}, {self.precision} {self.value:.4f}, drop {self.drop:+.4f} "
                f"({verdict} the bound {self.max_drop:g})")


def judge(task: str, precision: str, fp32: float, value: float, *, max_drop: float | None, samples: int,
          size: tuple[int, int]) -> AccuracyReport:
    """Compare; NaN on either side never passes."""
    bound = default_max_drop(task)
    limit = bound.max_drop if max_drop is None else max_drop
    drop = (fp32 - value) if bound.higher_is_better else (value - fp32)
    passed = bool(np.isfinite(fp32) and np.isfinite(value) and drop <= limit)
    reason = bound.reason if max_drop is None else f"--max-drop {max_drop:g} given by the user"
    return AccuracyReport(task, bound.metric, precision, float(fp32), float(value), float(drop), float(limit),
                          samples, list(size), passed, reason)


def run_all(infer: Callable[[dict[str, np.ndarray]], np.ndarray], samples: Sequence[TaskSample]) -> list[np.ndarray]:
    return [infer(s.feeds) for s in samples]
