"""`python -m edgeattn.export --target trt` without TensorRT: ONNX + audit + recipe + build_engine.sh, exit 0."""

import json

import pytest

from edgeattn.export.__main__ import main


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_trt_export_writes_recipe_script_and_says_build_on_device(tmp_path, capsys):
    code, out, _ = _run(capsys, "--model", "lga_mobilenet", "--target", "trt", "--input-size", "64x96", "--dynamic",
                        "--min-size", "32x32", "--max-size", "128x192", "--workspace", "512", "--no-parity",
                        "--output", str(tmp_path))
    assert code == 0
    folder = tmp_path / "lga_mobilenet"
    assert {"model.onnx", "build_engine.sh", "trt_recipe.json", "manifest.json"} <= {p.name for p in folder.iterdir()}
    assert "build it on the device" in out and "0 errors" in out
    recipe = json.loads((folder / "trt_recipe.json").read_text())
    assert recipe["min_size"] == [32, 32] and recipe["max_size"] == [128, 192] and recipe["workspace_mib"] == 512
    script = (folder / "build_engine.sh").read_text()
    assert "--maxShapes=image:1x3x128x192" in script and "--memPoolSize=workspace:512M" in script
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"build_engine.sh", "trt_recipe.json"} <= set(manifest["files"]) and manifest["audit"]["errors"] == 0


@pytest.mark.parametrize("args, match", [
    (["--target", "onnx", "--workspace", "512"], "--workspace apply to --target trt only"),
    (["--target", "ort", "--dla-core", "0"], "--dla-core apply to --target trt only"),
    (["--target", "trt", "--dla-core", "0"], "DLA has no FP32"),
    (["--target", "trt", "--min-size", "32x32"], "--min-size needs --dynamic"),
    (["--target", "trt", "--dynamic", "--max-size", "16x16"], "too small"),
    (["--target", "trt", "--dynamic", "--input-size", "64x64", "--max-size", "48x48"], "min <= opt <= max"),
])
def test_bad_trt_options_exit_2_with_one_line(tmp_path, capsys, args, match):
    code, _, err = _run(capsys, "--model", "lga_mobilenet", "--no-parity", "--output", str(tmp_path), *args)
    assert code == 2 and match in err and err.count("\n") == 1
    assert not (tmp_path / "lga_mobilenet").exists()


@pytest.mark.slow
@pytest.mark.parametrize("precision, graph, ten, eleven", [
    ("int8", "qdq", {"--int8"}, set()),
    ("fp16", "fp16", {"--stronglyTyped"}, set()),
])
def test_trt_recipe_and_script_describe_the_final_precision_graph(tmp_path, precision, graph, ten, eleven):
    # the precision step rewrites model.onnx (Q/DQ for int8, float16 with float32 islands for fp16); the recipe
    # and build_engine.sh are written after it, so they describe (and hash) the graph that ships
    import subprocess

    from edgeattn.export import ExportConfig
    from edgeattn.export.pipeline import export

    cheap = dict(keep_float="none", calibration="minmax", calib_samples=1) if precision == "int8" else {}
    cfg = ExportConfig(model="lga_mobilenet", target="trt", precision=precision, input_size=(32, 32),
                       output=tmp_path, parity=False, threads=1, eval_samples=1, **cheap)  # accuracy not judged here
    folder = export(cfg, progress=lambda _: None).folder  # may be <model>.failed: the accuracy bound is not ours
    recipe = json.loads((folder / "trt_recipe.json").read_text())
    assert (recipe["precision"], recipe["graph"]) == (precision, graph)
    flags = {"--int8", "--fp16", "--stronglyTyped", "--calib"}
    for version, expected in (("10.3.0", ten), ("10.16.0", ten), ("11.4.0", eleven)):
        proc = subprocess.run(["bash", str(folder / "build_engine.sh"), "--dry-run"], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "EDGEATTN_TRT_VERSION": version}, timeout=30)
        assert proc.returncode == 0, proc.stderr
        argv = [a for line in proc.stdout.splitlines() if not line.startswith("#") for a in line.split()]
        assert {a.split("=")[0] for a in argv} & flags == expected, (version, argv)
    proc = subprocess.run(["bash", str(folder / "build_engine.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "EDGEATTN_TRT_VERSION": "10.3"}, timeout=30)
    assert "trtexec not found" in proc.stderr  # the embedded hashes match the final model.onnx
