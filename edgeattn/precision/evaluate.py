"""Run a graph on held-out samples in ONNX Runtime or OpenVINO (what the deployed bundle runs on)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import onnx

from .data import TaskSample

__all__ = ["Outputs", "ort_runner", "openvino_runner", "run_samples", "output_error", "quiet"]

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


@contextlib.contextmanager
def quiet():
    """Silence the progress prints of onnxruntime.quantization / NNCF (they print to stdout)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def ort_runner(model: onnx.ModelProto | bytes, threads: int | None = None) -> Runner:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    data = model if isinstance(model, bytes) else model.SerializeToString()
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    return lambda feeds: sess.run(None, feeds)[0]


def openvino_runner(model, threads: int | None = None, hint: str = "f32") -> Runner:
    """`model`: an openvino.Model or a path; compiled with INFERENCE_PRECISION_HINT `hint` (f32 keeps the
    float parts of an int8 model in f32 rather than the bf16 this CPU would pick by default)."""
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": hint}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = core.compile_model(model if not isinstance(model, str) else core.read_model(model), "CPU", config)
    request = compiled.create_infer_request()
    out = compiled.output(0)
    return lambda feeds: np.asarray(request.infer(feeds)[out]).copy()


@dataclass
class Outputs:
    arrays: list[np.ndarray]


def run_samples(runner: Runner, samples: Sequence[TaskSample]) -> list[np.ndarray]:
    return [runner(s.feeds) for s in samples]


def output_error(reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray]) -> tuple[float, float]:
    """(max abs, mean abs) difference over all samples; NaN anywhere gives NaN."""
    diffs = [np.abs(a.astype(np.float64) - b.astype(np.float64)) for a, b in zip(reference, candidate)]
    return float(max(d.max() for d in diffs)), float(np.mean([d.mean() for d in diffs]))
