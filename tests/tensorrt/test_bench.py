"""The device bench, run here for real on ONNX Runtime (the same code times model.engine on a Jetson)."""

import json

import pytest

from edgeattn.tensorrt import bench



def test_bench_times_every_reference_case_and_writes_reports(trt_bundle, tmp_path, capsys):
    bundle = trt_bundle
    out = tmp_path / "results"
    code = bench.main([str(bundle), "--runtime", "ort", "--warmup", "1", "--iters", "3", "--threads", "1",
                       "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "| 32x32 | ort | fp32 | model.onnx | 1x3x32x32 |" in printed
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["iters"] == 3 and rows[0]["warmup"] == 1
    assert 0 < rows[0]["min_ms"] <= rows[0]["median_ms"] <= rows[0]["p90_ms"]
    assert (out / "results.md").read_text().startswith("| case |")


@pytest.mark.parametrize("args, match", [
    (["--iters", "0"], "--iters must be an integer in 1..100000"),
    (["--runtime", "trtt"], "unknown runtime 'trtt'"),
])
def test_bad_options_are_one_line(trt_bundle, capsys, args, match):
    bundle = trt_bundle
    assert bench.main([str(bundle), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_not_a_bundle_or_broken_reference(trt_bundle, tmp_path, capsys):
    assert bench.main([str(tmp_path / "nowhere"), "--runtime", "ort"]) == 2
    assert "(No such file or directory): is" in capsys.readouterr().err
    bundle = trt_bundle
    (bundle / "reference" / "32x32" / "inputs.npz").write_bytes(b"")
    assert bench.main([str(bundle), "--runtime", "ort"]) == 2
    assert "unreadable" in capsys.readouterr().err


def test_tensorrt_without_tensorrt_is_one_line(trt_bundle, capsys):
    from edgeattn.runtimes import runtime_class

    if runtime_class("tensorrt").available()[0]:
        pytest.skip("TensorRT is present")
    assert bench.main([str(trt_bundle)]) == 2
    err = capsys.readouterr().err
    assert "runtime 'tensorrt' is not available" in err and err.count("\n") == 1
