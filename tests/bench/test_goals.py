"""Issue 14's goal runner and its anchors on tiny sizes: the anchors compute the same function as edgeattn's
layers, every route is either timed or recorded as failed with its reason, the CLI writes its reports.
No timing assertions (the ratios are measurements, not test outcomes)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgeattn.bench.__main__ import main
from edgeattn.bench.anchors import CCNetRCCA, ConvPair, floor_step, gemm_floor, onnx_route, runtime_step
from edgeattn.bench.goals import GoalConfig, format_goals, interleave, merge_runs, run_goals
from edgeattn.nn import CrissCrossAttention, set_path


@pytest.mark.parametrize("size", [(9, 13), (7, 5)])
def test_ccnet_anchor_computes_edgeattn_criss_cross(size):
    ours = CrissCrossAttention(16).eval()
    with torch.no_grad():
        ours.gamma.fill_(0.8)
    anchor = CCNetRCCA(16).eval()
    anchor.load_state_dict(ours.state_dict())  # CCNet's parameter names: the state dict loads as is
    x = torch.randn(2, 16, *size)
    with torch.no_grad():
        want = anchor(x)
        assert (want - x).abs().max() > 0.1
        for path in ("reference", "export"):
            torch.testing.assert_close(set_path(ours, path)(x), want, rtol=1e-5, atol=1e-5)


def test_conv_pair_anchor_runs_on_ort():
    pair = ConvPair(8).eval()
    x = torch.randn(1, 8, 6, 10)
    step = runtime_step("ort", onnx_route(pair, (x,), ["x"], "y", "torchscript"), {"x": x.numpy()}, 1)
    try:
        np.testing.assert_allclose(step.run(), pair(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    finally:
        step.close()


@pytest.mark.parametrize("runtime", ["ort", "openvino"])
def test_gemm_floor_keeps_exactly_the_products_of_the_graph(runtime):
    import onnx

    ours = CrissCrossAttention(16).eval()
    x = torch.randn(1, 16, 9, 13)
    proto = onnx_route(ours, (x,), ["x"], "y", "torchscript")
    floor, feeds = gemm_floor(proto)
    gemms = [n for n in proto.graph.node if n.op_type in ("MatMul", "Gemm")]
    kept = [n for n in floor.graph.node if n.op_type != "Slice"]
    assert [n.op_type for n in kept] == [n.op_type for n in gemms] and len(gemms) >= 8  # 2 passes x (3 + 4)
    assert [list(n.attribute) for n in kept] == [list(n.attribute) for n in gemms]  # transB etc. kept
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*inferred.graph.value_info, *inferred.graph.input]}
    weights = {i.name for i in proto.graph.initializer}
    for src, copy in zip(gemms, kept):  # same operand shapes; weights stay initializers, data become inputs
        for a, b in zip(src.input, copy.input):
            assert (b == a) if a in weights else list(feeds[b].shape) == shapes[a]
    step = floor_step(runtime, floor, feeds, 1)
    try:
        step.run()
    finally:
        step.close()


def test_gemm_floor_refuses_dynamic_shapes_and_graphs_without_products():
    from edgeattn.export.onnx import export_onnx

    x = torch.randn(1, 8, 6, 10)
    dynamic = export_onnx(CrissCrossAttention(8).eval(), (x,), input_names=["x"], output_name="y", opset=17,
                          dynamic=True)
    with pytest.raises(ValueError, match="static shapes"):
        gemm_floor(dynamic)
    relu = onnx_route(torch.nn.ReLU(), (x,), ["x"], "y", "torchscript")
    with pytest.raises(ValueError, match="no MatMul or Gemm"):
        gemm_floor(relu)


def test_interleave_runs_every_candidate_each_round():
    calls = []
    t = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1, pause_s=0)
    assert calls == ["a", "b"] * 4 and all(len(v) == 3 for v in t.values())


def test_goal_rows_for_criss_cross_and_lga_on_tiny_sizes():
    config = GoalConfig(rounds=3, warmup=1, pause_s=0, threads=1, channels=16, cc_sizes=((9, 13),),
                        lga_sizes=((8, 8), (16, 16)))
    rows = run_goals(config, ("criss_cross", "lga"), log=lambda s: None)
    goals = [r["goal"] for r in rows]
    assert any(g.startswith("criss-cross 9x13 ort") for g in goals)
    assert any(g.startswith("criss-cross 9x13 openvino") for g in goals)
    assert any(g.startswith("LGA alpha on ort") for g in goals) and any("conv pair" in g for g in goals)
    cc = next(r for r in rows if r["goal"].startswith("criss-cross 9x13 ort"))
    assert cc["value"] is not None and cc["value"] > 0 and cc["spread"][0] <= cc["value"] <= cc["spread"][1]
    # CCNet's torch.diag does not export with TorchScript: the route is reported as failed, not dropped.
    assert "torchscript onnx failed" in cc["detail"] and "dynamo onnx" in cc["detail"]
    # the GEMM floor ran beside them: the ceiling is the best route over the export path's GEMMs alone
    assert "GEMM floor" in cc["detail"] and cc["ceiling"] > 0
    assert all(r["met"] in (True, False) for r in rows if r["value"] is not None)
    assert len(format_goals(rows)) == len(rows)


def test_cli_goals_only_writes_reports_and_rejects_bad_group(tmp_path, capsys):
    assert main(["--goals-only", "--goal-groups", "nope", "--output", str(tmp_path)]) == 2
    assert "goal group" in capsys.readouterr().err
    assert main(["--goals-only", "--goal-repeats", "0", "--output", str(tmp_path)]) == 2
    assert "--goal-repeats must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "goals.json").exists()


def _goal(goal, value, target=">= 1.5", ceiling=None, detail="d"):
    row = {"goal": goal, "value": value, "spread": None if value is None else (value, value), "target": target,
           "met": None, "detail": detail}
    if ceiling is not None:
        row["ceiling"] = ceiling
    return row


def test_merge_runs_takes_the_median_run_and_judges_it_again():
    runs = [[_goal("flow", 1.20, detail="run1"), _goal("alpha", 1.12, "<= 1.10"), _goal("cc", 1.1, ceiling=1.6)],
            [_goal("flow", 1.57, detail="run2"), _goal("alpha", 1.08, "<= 1.10"), _goal("cc", 1.2, ceiling=1.7)],
            [_goal("flow", 1.70, detail="run3"), _goal("alpha", None, "<= 1.10"), _goal("cc", 1.3, ceiling=1.8)]]
    flow, alpha, cc = merge_runs(runs)
    assert flow["value"] == 1.57 and flow["spread"] == (1.20, 1.70) and flow["met"] is True
    assert flow["runs"] == [1.20, 1.57, 1.70] and flow["detail"].endswith("run nearest the median: run2")
    # a run that could not measure the goal is counted, not averaged in
    assert alpha["value"] == 1.10 and alpha["met"] is True and "1 not measured" in alpha["detail"]
    assert cc["ceiling"] == 1.7 and cc["met"] is False
    one = [[_goal("flow", 1.2)]]
    assert merge_runs(one) is one[0]  # a single run is reported as it is
    never = merge_runs([[_goal("x", None)], [_goal("x", None)]])
    assert never[0]["value"] is None and never[0]["met"] is None


@pytest.mark.parametrize("target, values, met", [("< 1.0", (0.2, 0.3, 1.2), True), ("< 1.0", (1.0, 1.0, 0.5), False),
                                                  ("> 2", (2.5, 2.0, 3.0), True), ("> 2", (2.0, 2.0, 3.0), False)])
def test_merged_strict_targets_are_judged(target, values, met):
    (row,) = merge_runs([[_goal("peak memory", v, target)] for v in values])
    assert row["met"] is met  # a measured '<'/'>' goal has a verdict, never "not measured"


@pytest.mark.slow
def test_cli_goals_only_lga_group(tmp_path, capsys):
    code = main(["--goals-only", "--goal-groups", "lga", "--goal-rounds", "3", "--channels", "8", "--threads", "1",
                 "--output", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "goals.json").read_text())
    assert data["meta"]["rounds"] == 3 and any("alpha" in r["goal"] for r in data["goals"])
    assert "LGA alpha" in capsys.readouterr().out and (tmp_path / "goals.md").exists()
