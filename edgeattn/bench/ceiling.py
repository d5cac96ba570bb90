"""The practical compute ceiling: GFLOP/s of one large fp32 MatMul on each runtime, same threads, same run.

A model's effective GFLOP/s divided by this says how much of the machine's dense-algebra speed it uses;
attention blocks and depthwise convolutions are bound by memory traffic, so well below 1 is expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

from ..export.graph import write_graph
from .runners import eager_step, load_step
from .timer import Timing, measure

__all__ = ["matmul_graph", "measure_ceiling"]


def matmul_graph(n: int) -> onnx.ModelProto:
    """Y = A @ B with A, B (n, n) fp32 inputs (both fed, so nothing is constant-folded)."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul")], "ceiling", [a, b], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class _MatMul(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.mm(a, b)


def measure_ceiling(runtime: str, workdir: Path, *, n: int = 2048, threads: int = 2, warmup: int = 2,
                    iters: int = 10, budget_s: float | None = 5.0) -> tuple[float, Timing]:
    """(GFLOP/s, timing) of an n x n x n fp32 MatMul on `runtime`."""
    rng = np.random.default_rng(0)
    feeds = {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}
    if runtime == "torch":
        step = eager_step(_MatMul(), [feeds["a"], feeds["b"]], threads)
        timing = measure(step, warmup=warmup, iters=iters, budget_s=budget_s)
    else:
        path = write_graph(matmul_graph(n), Path(workdir) / f"matmul{n}.onnx")
        rt, step = load_step(runtime, path, feeds, threads)
        try:
            timing = measure(step, warmup=warmup, iters=iters, budget_s=budget_s)
        finally:
            rt.close()
    return 2.0 * n**3 / (timing.median_ms * 1e-3) / 1e9, timing
