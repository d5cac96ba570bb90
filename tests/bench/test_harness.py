"""Benchmark harness logic on tiny models and sizes: statistics, MAC counting, memory probe, alpha fit,
report structure and CLI exit status. No timing assertions."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeattn.bench.__main__ import main
from edgeattn.bench.harness import BenchConfig, fit_alpha, run
from edgeattn.bench.macs import count_macs
from edgeattn.bench.memory import available, peak_rss_delta
from edgeattn.bench.report import format_markdown, targets, write_reports
from edgeattn.bench.timer import measure


def test_measure_counts_warmup_and_iters():
    calls = []
    t = measure(lambda: calls.append(1), warmup=2, iters=5, budget_s=None)
    assert len(calls) == 7 and t.iters == 5 and t.warmup == 2
    assert t.min_ms <= t.median_ms <= t.p90_ms and t.fps > 0


def test_measure_budget_stops_early_but_keeps_min_iters():
    calls = []
    t = measure(lambda: calls.append(1), warmup=0, iters=1000, budget_s=1e-9, min_iters=3)
    assert t.iters == 3 and len(calls) == 3


def test_fit_alpha_recovers_exponents():
    pixels = [64 * 64, 64 * 128, 128 * 256]
    assert fit_alpha(pixels, [3e-4 * p for p in pixels]) == pytest.approx(1.0)
    assert fit_alpha(pixels, [1e-6 * p**2 for p in pixels]) == pytest.approx(2.0)
    assert fit_alpha([4096], [1.0]) is None


def _graph() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.zeros(108, np.float32))
    dw = helper.make_tensor("dw", TensorProto.FLOAT, [4, 1, 3, 3], np.zeros(36, np.float32))
    m = helper.make_tensor("m", TensorProto.FLOAT, [8, 5], np.zeros(40, np.float32))
    g = helper.make_tensor("g", TensorProto.FLOAT, [5, 7], np.zeros(35, np.float32))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),  # (1, 4, 8, 8): 256 outputs x 27
        helper.make_node("Conv", ["c", "dw"], ["d"], pads=[1, 1, 1, 1], group=4),  # depthwise: 256 x 9
        helper.make_node("MatMul", ["d", "m"], ["e"]),  # (1, 4, 8, 5): 160 outputs x K=8
        helper.make_node("Reshape", ["e", "shape"], ["f"]),  # (32, 5)
        helper.make_node("Gemm", ["f", "g"], ["y"]),  # (32, 7) x K=5
        helper.make_node("Relu", ["y"], ["z"]),
    ]
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [32, 5])
    graph = helper.make_graph(nodes, "t", [x], [y], initializer=[w, dw, m, g, shape])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_count_macs_by_op():
    c = count_macs(_graph())
    assert c.by_op == {"Conv": 256 * 27 + 256 * 9, "MatMul": 160 * 8, "Gemm": 32 * 7 * 5}
    assert c.total == sum(c.by_op.values())
    assert c.uncounted_ops == {"Reshape": 1, "Relu": 1} and c.unknown_shapes == 0


@pytest.mark.skipif(not available(), reason="/proc/self/clear_refs is not writable here (not Linux?)")
def test_peak_rss_delta_sees_a_64_mib_buffer():
    def step():
        a = np.ones(16 * 1024 * 1024, dtype=np.float32)  # 64 MiB, touched
        return float(a[-1])

    value, mib = peak_rss_delta(step)
    assert value == 1.0 and 60 <= mib < 200


@pytest.fixture(scope="module")
def tiny_run():
    config = BenchConfig(models=("lga_mobilenet",), runtimes=("torch", "ort", "openvino"), sizes=((32, 64),),
                         threads=2, warmup=0, iters=2, budget_s=None, modules=("lga", "nonlocal"),
                         sweep_sizes=((8, 8), (8, 16), (16, 16)), channels=16, alpha_min_pixels=64, ceiling_n=64)
    updates = []
    res = run(config, progress=lambda _s: None,
              on_update=lambda r: updates.append((len(r.models), len(r.modules), r.meta["complete"])))
    return res, updates


@pytest.fixture(scope="module")
def tiny_result(tiny_run):
    return tiny_run[0]


def test_partial_results_after_every_case(tiny_run):
    res, updates = tiny_run
    # One update per measured case (3 model rows, then 2 modules x 3 sizes x 3 runtimes), each marked incomplete.
    assert updates == [(k, 0, False) for k in range(1, 4)] + [(3, k, False) for k in range(1, 19)]
    assert res.meta["complete"] is True


def test_result_structure(tiny_result):
    res = tiny_result
    assert set(res.ceilings) == {"torch", "ort", "openvino"} and all(c["gflops"] > 0 for c in res.ceilings.values())
    assert [(m.name, m.runtime, m.size, m.status) for m in res.models] == [
        ("lga_mobilenet", rt, "32x64", "ok") for rt in ("torch", "ort", "openvino")]
    for m in res.models:
        assert m.iters == 2 and m.min_ms <= m.median_ms <= m.p90_ms
        assert m.params > 1e6 and m.macs_onnx > 0 and m.gflops > 0 and m.ceiling_ratio > 0
    assert len(res.modules) == 2 * 3 * 3 and all(m.status == "ok" for m in res.modules)
    assert {m.path for m in res.modules if m.runtime == "torch"} == {"reference"}
    assert {m.path for m in res.modules if m.runtime != "torch"} == {"export"}
    nl = [m for m in res.modules if m.name == "nonlocal" and m.runtime == "ort"]
    # Non-local MACs grow with pixels^2 (attention matrix) on top of the 1x1 convs.
    assert nl[2].macs_onnx > 4 * nl[0].macs_onnx
    assert {(a["module"], a["runtime"]) for a in res.alphas} == {(n, r) for n in ("lga", "nonlocal")
                                                                   for r in ("torch", "ort", "openvino")}
    assert all(isinstance(a["alpha"], float) and len(a["sizes"]) == 3 for a in res.alphas)


def test_reports_written(tiny_result, tmp_path):
    paths = write_reports(tiny_result, tmp_path)
    assert sorted(p.name for p in paths) == ["models.png", "results.json", "results.md", "sweep.png"]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc) == {"meta", "ceilings", "models", "modules", "alphas", "precision", "targets"}
    assert doc["meta"]["threads"] == 2 and doc["meta"]["cpu"]
    md = format_markdown(tiny_result)
    for section in ("## Compute ceiling", "## Models", "## Attention modules", "## Targets", "% ceiling", "alpha"):
        assert section in md
    for png in ("models.png", "sweep.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_targets_say_when_not_measured(tiny_result):
    ts = {t["target"]: t for t in targets(tiny_result)}
    t = ts["lga_mobilenet 512x1024: ort speed-up over PyTorch eager"]
    assert t["value"] is None and t["met"] is None and "not measured" in t["note"]


@pytest.mark.parametrize("argv, expected", [
    (["--models", "lga_mobilenett"], "unknown model 'lga_mobilenett'"),
    (["--runtimes", "torch,tensorrtx"], "unknown runtime 'tensorrtx'"),
    (["--modules", "criss-cross"], "unknown attention module 'criss-cross'"),
    (["--threads", "0"], "--threads"),
    (["--models", "lga_mobilenet", "--sizes", "8x8"], "too small"),
])
def test_cli_bad_input_exit_2(argv, expected, tmp_path, capsys):
    try:
        rc = main([*argv, "--output", str(tmp_path)])
    except SystemExit as exc:  # refused by the parser (--threads): the same one line and status for a user
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "results.json").exists()
