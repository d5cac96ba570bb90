"""The INT8 job: calibrate on task data, choose the calibration method and the float set by measurement,
quantize for the target, and judge the task metric against fp32 on held-out data.

Three disjoint seed streams of the training generators (precision/data.py): calibration `[seed, 2]`, selection
`[seed, 3]` (choosing the calibration method and the blocks kept in float), held-out `[1000, 1]` (the reported
metric and the accuracy bound). Choosing on the held-out set would flatter the result it then reports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from .blocks import resolve_names, sensitive_nodes
from .bounds import AccuracyReport, default_max_drop, judge, task_metric
from .config import PrecisionConfig
from .data import calibration_feeds, task_samples
from .evaluate import openvino_runner, ort_runner, quiet, run_samples
from .ort_int8 import SCHEMES, Calibration, quantize_qdq
from .sensitivity import SensitivityRow, format_sensitivity, measure_sensitivity

__all__ = ["Int8Result", "quantize_for_target", "SELECTION_STREAM"]

SELECTION_STREAM = 3
Progress = Callable[[str], None]


@dataclass
class Int8Result:
    onnx_model: onnx.ModelProto | None  # the Q/DQ graph (ort, trt); None for openvino
    ov_model: object | None  # the NNCF-quantized openvino.Model (openvino)
    accuracy: AccuracyReport
    calibration: dict
    keep_float: dict
    sensitivity: list[SensitivityRow] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        return {"accuracy": self.accuracy.to_dict(), "calibration": self.calibration, "keep_float": self.keep_float,
                "sensitivity": [r.to_dict() for r in self.sensitivity]}


def _metric_of(task, runner, samples):
    outs = run_samples(runner, samples)
    return task_metric(task, outs, samples), outs


def quantize_for_target(fp32: onnx.ModelProto, fp32_path: Path, *, task: str, input_names: list[str],
                        size: tuple[int, int], num_classes: int, target: str, config: PrecisionConfig,
                        progress: Progress) -> Int8Result:
    config.check()
    bound = default_max_drop(task)
    budget = bound.max_drop if config.max_drop is None else config.max_drop
    threads = config.threads
    progress(f"  int8: drawing {config.calib_samples} calibration, {config.eval_samples} selection and "
             f"{config.eval_samples} held-out {task} samples at {size[0]}x{size[1]}")
    calib = calibration_feeds(task, input_names, size, config.calib_samples, seed=config.seed,
                              num_classes=num_classes)
    select = task_samples(task, input_names, size, config.eval_samples, seed=config.seed, stream=SELECTION_STREAM,
                          num_classes=num_classes)
    held = task_samples(task, input_names, size, config.eval_samples, seed=config.seed, num_classes=num_classes)
    fp32_run = ort_runner(fp32, threads)
    fp32_select_metric, fp32_select = _metric_of(task, fp32_run, select)

    # The float set before measurement: none, the user's names, or (auto) the attention-sensitive ops.
    auto = config.keep_float == ("auto",)
    if auto:
        base = sensitive_nodes(fp32)
        matched = {"attention-sensitive ops": f"{len(base)} nodes"}
    else:
        base, matched = resolve_names(fp32, config.keep_float) if config.keep_float else ([], {})
    everything = not config.keep_float  # none: also force Q/DQ onto ops ORT would leave float

    def drop(v: float) -> float:
        return (fp32_select_metric - v) if bound.higher_is_better else (v - fp32_select_metric)

    with tempfile.TemporaryDirectory(prefix="edgeattn-calib-") as tmp:
        methods = ("minmax", "entropy", "percentile") if config.calibration == "auto" else (config.calibration,)
        trials = {}
        cals = {}
        for m in methods:
            progress(f"  int8: calibrating ({m}) and measuring {bound.metric} on the selection set")
            cals[m] = Calibration(fp32, calib, m, Path(tmp))
            with quiet():
                q = quantize_qdq(cals[m], target=target, keep_float=base, everything=everything,
                                 per_channel=config.weights == "per-channel")
            trials[m], _ = _metric_of(task, ort_runner(q, threads), select)
        best = min(methods, key=lambda m: drop(trials[m]))  # ties: the first listed (minmax)
        calibration = {"method": best if target != "openvino" else "nncf", "chosen_from": dict(trials),
                       "fp32_selection": fp32_select_metric, "metric": bound.metric, "samples": config.calib_samples,
                       "stream": "[seed, 2]", "selection_stream": f"[seed, {SELECTION_STREAM}]",
                       "weights": config.weights,
                       "scheme": (SCHEMES["trt" if target == "trt" else "ort"].__dict__ if target != "openvino"
                                  else "nncf")}
        if target == "openvino":
            from .openvino_int8 import NNCF_SETTINGS

            calibration["nncf"] = NNCF_SETTINGS
            calibration["ort_method_for_sensitivity"] = best
        lines = ["calibration (" + bound.metric + " on the selection set; fp32 " + f"{fp32_select_metric:.4f}): "
                 + ", ".join(f"{m} {v:.4f}" for m, v in trials.items()) + f" -> {best}"]
        progress("  " + lines[-1])

        rows: list[SensitivityRow] = []
        keep = list(base)
        if auto:
            progress("  int8: per-block sensitivity (each block quantized alone)")
            rows = measure_sensitivity(cals[best], target=target, base_float=base, samples=select,
                                       fp32_outputs=fp32_select, task=task, higher_is_better=bound.higher_is_better,
                                       budget=budget, share=config.sensitivity_share,
                                       runner=lambda p: ort_runner(p, threads), progress=progress)
            table = format_sensitivity(rows, bound.metric)
            lines.append(table)
            progress(table)
            for r in rows:
                if r.keep_float:
                    from .blocks import find_blocks

                    keep += next(b.nodes for b in find_blocks(fp32) if b.name == r.block)
                    matched[r.block] = "block (sensitivity)"
            keep = list(dict.fromkeys(keep))

        progress(f"  int8: quantizing for {target} ({len(keep)} nodes kept in float)")
        onnx_q = ov_q = None
        if target == "openvino":
            from .openvino_int8 import quantize_openvino

            with quiet():
                ov_q, ov_names = quantize_openvino(fp32_path, calib, keep)
            runner = openvino_runner(ov_q, threads)
            matched["openvino ignored scope"] = f"{len(ov_names)} ops"
        else:
            with quiet():
                onnx_q = quantize_qdq(cals[best], target=target, keep_float=keep, everything=everything,
                                 per_channel=config.weights == "per-channel")
            runner = ort_runner(onnx_q, threads)

    fp32_held, _ = _metric_of(task, fp32_run, held)
    value, _ = _metric_of(task, runner, held)
    report = judge(task, "int8", fp32_held, value, max_drop=config.max_drop, samples=len(held), size=size)
    lines.append(report.line())
    progress("  " + report.line())
    keep_float = {"mode": "auto" if auto else ("none" if not config.keep_float else "names"),
                  "requested": list(config.keep_float), "matched": matched, "nodes": keep,
                  "blocks_in_float": [r.block for r in rows if r.keep_float]}
    return Int8Result(onnx_q, ov_q, report, calibration, keep_float, rows, lines)
