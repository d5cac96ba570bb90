"""Export options are judged before any work starts: one line, exit 2, nothing written (not even an empty folder).

Each case here once got further than it should: an opset that exported a wrong model (9, 10) or dumped the TorchScript
IR (7), a negative seed or the dynamo exporter ending in a traceback, a missing OpenVINO noticed after five steps, an
opset TensorRT cannot read noticed after three.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edgeattn.errors import EXIT_BAD_INPUT
from edgeattn.export.__main__ import main


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("args", "expected"), [
    (["--opset", "9"], "needs opset >= 11"),
    (["--opset", "10"], "needs opset >= 11"),
    (["--opset", "7"], "needs opset >= 11"),
    (["--model", "lga_flow", "--opset", "13"], "lga_flow needs opset >= 16"),
    (["--opset", "21", "--target", "trt"], "--target trt reads opset 9..20"),
    (["--opset", "17", "--exporter", "dynamo"], "dynamo exporter writes opset 18..23"),
    (["--seed", "-1"], "argument --seed: must be in 0..4294967295"),
    (["--exporter", "dynamic"], "unknown exporter 'dynamic'. Did you mean: dynamo?"),
    (["--target", "tensorrt"], "unknown target 'tensorrt'"),
    (["--precision", "bf17"], "unknown precision 'bf17'. Did you mean: bf16"),
    (["--runtimes", "ort,opnvino"], "unknown runtime 'opnvino'. Did you mean: openvino?"),
    (["--runtimes", "torch"], "--runtimes torch"),
    (["--name", "mine"], "--name names a user model's bundle"),
])
def test_refused_up_front_in_one_line(args, expected, capsys, tmp_path):
    out = tmp_path / "out"
    argv = ["--model", "lga_mobilenet", "--input-size", "64x64", "--output", str(out), *args]
    if argv.count("--model") == 2:  # the case names its own model
        argv = argv[2:]
    code, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeattn.export: error: "), err
    assert expected in lines[0]
    assert not out.exists(), "a refused export created its output folder"


def test_runtime_aliases_and_duplicates_are_one_runtime(tmp_path, capsys):
    code = main(["--model", "lga_mobilenet", "--input-size", "32x32", "--target", "ort", "--output",
                 str(tmp_path), "--runtimes", "onnxruntime,ort,ORT"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [ln for ln in out.splitlines() if ln.startswith("ort ")]
    assert len(rows) == 1, out


def test_missing_openvino_is_named_before_any_step(tmp_path):
    """With OpenVINO unimportable, --target openvino stops before building the model, naming the extra."""
    script = textwrap.dedent("""
        import runpy, sys
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name == "openvino" or name.startswith("openvino."):
                    raise ImportError("blocked")
        sys.meta_path.insert(0, _Block())
        sys.argv = ["edgeattn.export", *sys.argv[1:]]
        runpy.run_module("edgeattn.export", run_name="__main__")
    """)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", script, "--model", "lga_mobilenet", "--target", "openvino",
                           "--input-size", "64x64", "--output", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == EXIT_BAD_INPUT, proc.stderr
    assert "[1/" not in proc.stderr, "work started before the missing dependency was named"
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("edgeattn.export: error: --target openvino") and "pip install -e '.[openvino]'" in line
    assert not out.exists()


def test_failed_export_leaves_no_empty_output_folder(tmp_path, capsys):
    """A model that cannot be exported at this size (PatchMatch tables are per size: --dynamic is refused after
    the model is built) must not leave the output folder it would have written into."""
    out = tmp_path / "new" / "folder"
    code, err = _run(["--model", "psal_inpaint", "--input-size", "64x64", "--dynamic", "--output", str(out),
                      "--no-parity"], capsys)
    assert code == EXIT_BAD_INPUT, err
    assert not (tmp_path / "new").exists()


def test_help_lists_the_vocabulary():
    from edgeattn.export.__main__ import build_parser

    text = build_parser().format_help()
    for word in ("onnx, ort, openvino, trt", "torchscript, dynamo", "exit status (the same for every edgeattn"):
        assert word in text


def test_an_opset_the_user_did_not_choose_is_the_exporters_own(tmp_path, capsys):
    """--exporter dynamo without --opset exports at 18 (dynamo writes >= 18 only); an explicit 17 is still refused
    above, and the TorchScript default stays 17."""
    import json

    from edgeattn.export import ExportConfig

    assert ExportConfig(model="m").opset == 17 and ExportConfig(model="m", exporter="dynamo").opset == 18
    assert ExportConfig(model="m", exporter="dynamo", opset=20).opset == 20
    assert main(["--model", "lga_mobilenet", "--exporter", "dynamo", "--input-size", "32x32", "--target", "ort",
                 "--output", str(tmp_path), "--threads", "2"]) == 0
    assert json.loads((tmp_path / "lga_mobilenet" / "manifest.json").read_text())["opset"] == 18
