"""INT8 against fp32 in one benchmark run: latency (interleaved) and the task metric on held-out data.

For each model x size: the export graph is quantized exactly as `python -m edgeattn.export --precision int8
--target ort` would (precision/int8.py: calibration on task data, --keep-float auto), then fp32 and int8 are
timed on ONNX Runtime **interleaved**: one fp32 run, one int8 run, and so on, so that load from other processes on
a shared machine falls on both alike and the ratio is meaningful even when absolute times are not. ORT's thread
pool spinning is switched off (`session.intra_op.allow_spinning=0`) so one session's spin does not slow the other.
The task metric (mIoU / PSNR / EPE against ground truth) of both graphs comes from the same held-out samples.

Weights: the shipped trained weights when the model has them (`create_model(pretrained=True)`), else a
checkpoint from `--checkpoint-dir DIR/<model>.pt`, else random init (recorded; the metric is then meaningless).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["PrecisionRow", "bench_precision", "interleaved"]


@dataclass
class PrecisionRow:
    model: str
    size: str
    runtime: str
    weights: str  # pretrained | checkpoint:<file> | random-init
    fp32_ms: float | None = None
    int8_ms: float | None = None
    fp32_p90_ms: float | None = None
    int8_p90_ms: float | None = None
    speedup: float | None = None  # median fp32 / median int8, from the interleaved runs
    iters: int = 0
    metric: str = ""
    fp32_metric: float | None = None
    int8_metric: float | None = None
    drop: float | None = None
    max_drop: float | None = None
    bound_met: bool | None = None
    keep_float_blocks: list | None = None
    calibration: str = ""
    status: str = "ok"
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def interleaved(steps: dict[str, Callable[[], object]], *, warmup: int, iters: int, budget_s: float | None,
                pause_s: float = 0.02) -> dict[str, np.ndarray]:
    """Alternate one run of each step per round; returns per-step latencies in ms."""
    for _ in range(warmup):
        for fn in steps.values():
            fn()
    samples: dict[str, list[float]] = {k: [] for k in steps}
    start = time.perf_counter()
    for i in range(iters):
        for k, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            samples[k].append((time.perf_counter() - t0) * 1e3)
            time.sleep(pause_s)
        if budget_s is not None and i >= 2 and time.perf_counter() - start >= budget_s:
            break
    return {k: np.asarray(v) for k, v in samples.items()}


def _weights(name: str, checkpoint_dir: Path | None) -> tuple[dict, str]:
    from ..models.pretrained import pretrained_models

    if name in pretrained_models():
        return {"pretrained": True}, "pretrained"
    if checkpoint_dir is not None and (Path(checkpoint_dir) / f"{name}.pt").is_file():
        path = Path(checkpoint_dir) / f"{name}.pt"
        return {"checkpoint": path}, f"checkpoint:{path.name}"
    return {}, "random-init"


def _ort_session(model, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def bench_precision(name: str, size: tuple[int, int], *, threads: int, warmup: int, iters: int,
                    budget_s: float | None, checkpoint_dir: Path | None, seed: int = 0,
                    calibration: str = "minmax", progress: Callable[[str], None] = lambda _m: None) -> PrecisionRow:
    import tempfile

    import onnx

    from ..data.inputs import make_inputs
    from ..export.config import ExportConfig
    from ..export.graph import export_graph
    from ..export.pipeline import _build_model
    from ..models import get_model_spec
    from ..precision.config import PrecisionConfig
    from ..precision.int8 import quantize_for_target

    spec = get_model_spec(name)
    kwargs, label = _weights(name, checkpoint_dir)
    row = PrecisionRow(name, f"{size[0]}x{size[1]}", "ort", label)
    model = _build_model(ExportConfig(model=name, seed=seed, **kwargs)).eval()
    feeds = make_inputs(spec, 1, *size, seed=seed)
    fp32 = export_graph(model, spec, feeds)
    dims = fp32.graph.output[0].type.tensor_type.shape.dim
    classes = int(dims[1].dim_value) if len(dims) > 1 and dims[1].dim_value else 19
    with tempfile.TemporaryDirectory(prefix="edgeattn-bench-int8-") as tmp:
        path = Path(tmp) / "fp32.onnx"
        onnx.save(fp32, str(path))
        res = quantize_for_target(fp32, path, task=spec.task, input_names=[i.name for i in spec.inputs], size=size,
                                  num_classes=classes, target="ort",
                                  config=PrecisionConfig(calibration=calibration, threads=threads, seed=seed),
                                  progress=progress)
    acc = res.accuracy
    row.metric, row.fp32_metric, row.int8_metric, row.drop = acc.metric, acc.fp32, acc.value, acc.drop
    row.max_drop, row.bound_met = acc.max_drop, acc.passed
    row.keep_float_blocks, row.calibration = res.keep_float["blocks_in_float"], res.calibration["method"]
    s32, s8 = _ort_session(fp32, threads), _ort_session(res.onnx_model, threads)
    progress(f"  timing fp32 and int8 interleaved ({name} {row.size})")
    t = interleaved({"fp32": lambda: s32.run(None, feeds), "int8": lambda: s8.run(None, feeds)},
                    warmup=warmup, iters=iters, budget_s=budget_s)
    row.fp32_ms, row.int8_ms = float(np.median(t["fp32"])), float(np.median(t["int8"]))
    row.fp32_p90_ms, row.int8_p90_ms = float(np.percentile(t["fp32"], 90)), float(np.percentile(t["int8"], 90))
    row.speedup, row.iters = row.fp32_ms / row.int8_ms, len(t["fp32"])
    return row
