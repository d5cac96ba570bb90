"""Per-block sensitivity to INT8: quantize one attention block alone (the rest stays float) and measure.

For every block of `blocks.find_blocks` the graph is quantized with only that block's nodes in Q/DQ (reusing the
calibration cache, so ranges are identical across rows) and run on selection samples (a seed stream of its own,
neither calibration nor held-out). Each row gives the output error against fp32 and the task-metric drop; `auto`
keeps in float every attention block whose drop exceeds `share * max_drop`. The `rest` row (backbone, decoder,
head) is measured for comparison and never kept in float by `auto` (it carries most of the INT8 speed-up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import onnx

from .blocks import find_blocks
from .bounds import task_metric
from .data import TaskSample
from .evaluate import output_error, quiet, run_samples
from .ort_int8 import Calibration, quantize_qdq

__all__ = ["SensitivityRow", "measure_sensitivity", "format_sensitivity"]


@dataclass
class SensitivityRow:
    block: str
    nodes: int
    quantized_nodes: int  # nodes of the block ORT put in Q/DQ when asked (the rest of the graph stays float)
    max_abs_err: float
    mean_abs_err: float
    metric: float
    drop: float  # in the metric's units, >0 worse than fp32
    keep_float: bool
    why: str

    def to_dict(self) -> dict:
        return asdict(self)


def measure_sensitivity(cal: Calibration, *, target: str, base_float: Sequence[str], samples: Sequence[TaskSample],
                        fp32_outputs: Sequence[np.ndarray], task: str, higher_is_better: bool, budget: float,
                        share: float, runner: Callable[[onnx.ModelProto], Callable], progress=None
                        ) -> list[SensitivityRow]:
    fp32_metric = task_metric(task, fp32_outputs, samples)
    floats = set(base_float)
    rows = []
    for block in find_blocks(cal.model):
        only = [n for n in block.nodes if n not in floats]
        if progress:
            progress(f"    sensitivity: {block.name} ({len(only)} nodes quantized alone)")
        with quiet():
            q = quantize_qdq(cal, target=target, keep_float=sorted(floats), quantize_only=only)
        outs = run_samples(runner(q), samples)
        mx, mean = output_error(fp32_outputs, outs)
        metric = task_metric(task, outs, samples)
        drop = (fp32_metric - metric) if higher_is_better else (metric - fp32_metric)
        over = not np.isfinite(drop) or drop > share * budget
        keep = block.attention and over
        if not block.attention:
            why = "not attention: never kept in float by auto"
        elif over:
            why = f"drop {drop:+.4f} > {share:g} x bound {budget:g}"
        else:
            why = f"drop {drop:+.4f} <= {share:g} x bound {budget:g}"
        quantized = sum(1 for n in q.graph.node if n.op_type == "DequantizeLinear")
        rows.append(SensitivityRow(block.name, len(block.nodes), quantized, mx, mean, metric, drop, keep, why))
    return rows


def format_sensitivity(rows: Sequence[SensitivityRow], metric: str) -> str:
    head = f"{'block':<24} {'nodes':>5} {'DQ':>4} {'max_abs':>9} {'mean_abs':>9} {metric:>8} {'drop':>8}  float?  why"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.block:<24} {r.nodes:>5} {r.quantized_nodes:>4} {r.max_abs_err:>9.4f} {r.mean_abs_err:>9.5f} "
                     f"{r.metric:>8.4f} {r.drop:>+8.4f}  {'yes' if r.keep_float else 'no':<6}  {r.why}")
    return "\n".join(lines)
