"""The export CLI: end to end in a subprocess, and every bad input as a one-line error with status 2."""

import json
import subprocess
import sys

import pytest
import torch

from edgeattn.export.__main__ import main


def _run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "edgeattn.export", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_end_to_end_in_a_subprocess(tmp_path):
    proc = _run_cli(
        "--model",
        "lga_mobilenet",
        "--target",
        "openvino",
        "--runtimes",
        "ort,openvino",
        "--input-size",
        "64x96",
        "--threads",
        "2",
        "--output",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stdout and "openvino" in proc.stdout and "ort" in proc.stdout
    assert "[1/8] building lga_mobilenet" in proc.stderr  # progress goes to stderr
    manifest = json.loads((tmp_path / "lga_mobilenet" / "manifest.json").read_text())
    assert manifest["verdict"] == "passed" and len(manifest["parity"]) == 2


def test_help_explains_every_option():
    proc = _run_cli("--help")
    assert proc.returncode == 0
    for flag in [
        "--model",
        "--target",
        "--input-size",
        "--batch",
        "--dynamic",
        "--opset",
        "--precision",
        "--simplify",
        "--output",
        "--checkpoint",
        "--no-parity",
        "--runtimes",
        "--list-models",
    ]:
        assert flag in proc.stdout
    assert "exit status" in proc.stdout and "trtexec" in proc.stdout


def test_list_models(capsys):
    assert main(["--list-models"]) == 0
    out = capsys.readouterr().out
    assert "lga_mobilenet" in out and "512x1024" in out and "segmentation" in out


def _bad(capsys, tmp_path, *args):
    try:
        code = main(["--output", str(tmp_path / "out"), *args])
    except SystemExit as exc:  # values outside a flag's vocabulary are refused by the parser itself
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("[", "  "))]  # drop progress lines
    assert len(lines) == 1 and lines[0].startswith("edgeattn.export: error:"), err
    assert "Traceback" not in err
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == [], "no partial artefacts"
    return lines[0]


def test_unknown_model_suggests(capsys, tmp_path):
    assert "Did you mean: lga_mobilenet" in _bad(capsys, tmp_path, "--model", "lga_mobilnet")


def test_unknown_target_suggests(capsys, tmp_path):
    assert "Did you mean: openvino" in _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--target", "openvin")


def test_too_small_input(capsys, tmp_path):
    assert "too small" in _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--input-size", "16x16")


def test_runtime_not_installed_is_not_verified_exit_3(capsys, tmp_path):
    from edgeattn.runtimes import runtime_class

    if runtime_class("tensorrt").available()[0]:
        pytest.skip("TensorRT is installed here")
    code = main(["--model", "lga_mobilenet", "--input-size", "64x64", "--runtimes", "ort,tensorrt", "--threads", "2",
                 "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 3 and "NOT VERIFIED" in out.splitlines()  # the verdict line, though the ort row passed
    manifest = json.loads((tmp_path / "lga_mobilenet" / "manifest.json").read_text())
    assert manifest["verdict"] == "not_verified"


def test_runtimes_torch_alone_is_refused(capsys, tmp_path):
    assert "nothing to be compared" in _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--runtimes", "torch")


def test_unknown_runtime(capsys, tmp_path):
    assert "Did you mean: ort" in _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--runtimes", "orrt")


def test_output_not_writable(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder must go: fails even for root
    code = main(["--model", "lga_mobilenet", "--output", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not writable" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_checkpoint(capsys, tmp_path):
    assert "does not exist" in _bad(
        capsys, tmp_path, "--model", "lga_mobilenet", "--checkpoint", str(tmp_path / "x.pt")
    )


def test_corrupt_checkpoint(capsys, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    assert "could not be read" in _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--checkpoint", str(bad))


def test_mismatched_checkpoint(capsys, tmp_path):
    ckpt = tmp_path / "other.pt"
    torch.save({"foo.weight": torch.zeros(2)}, ckpt)
    msg = _bad(capsys, tmp_path, "--model", "lga_mobilenet", "--checkpoint", str(ckpt), "--input-size", "64x64")
    assert "missing keys" in msg and "unexpected keys: foo.weight" in msg


@pytest.mark.parametrize("size", ["64by64", "x", "0x64", "-5"])
def test_malformed_input_size(capsys, size):
    with pytest.raises(SystemExit) as info:
        main(["--model", "lga_mobilenet", "--input-size", size])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "malformed size" in err and "Traceback" not in err
