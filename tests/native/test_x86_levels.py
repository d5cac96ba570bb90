"""The x86-64 library on CPUs without AVX-512: the criss-cross kernel has an AVX-512 block (picked at run time)
and 8-float-vector blocks compiled for x86-64-v3 (AVX2 + FMA) and the x86-64 baseline (SSE), picked at load time
(ifunc); this machine has AVX-512, so only emulation runs the other two. qemu-user (Debian's qemu-x86_64-static)
runs this interpreter with the CPU model's CPUID: Haswell (AVX2, FMA, no AVX-512) and Nehalem (SSE4.2, no AVX).
Every kernel against the numpy reference path computed on this host, through one IR per op (dynamic shapes)."""

import json
import platform
import subprocess
import sys

import pytest

from edgeattn.bundle.tolerances import tolerance_for
from edgeattn.native import LIBRARY, build_dir

from ._graphs import PM, write_kernel_cases

pytestmark = [pytest.mark.native, pytest.mark.x86_levels]
TOL = tolerance_for("fp32", "openvino").max_abs
FEATURES = ("AVX512F", "AVX2", "FMA3", "AVX", "SSE42")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("x86-cases")
    write_kernel_cases(folder, arm_default_precision=False)
    return folder


@pytest.mark.parametrize("cpu,has", [("Haswell", {"AVX2", "FMA3", "AVX", "SSE42"}), ("Nehalem", {"SSE42"})])
def test_kernels_match_the_reference_on_x86_cpus_without_avx512(cases, tmp_path, cpu, has):
    if platform.machine() != "x86_64":
        pytest.skip("the x86-64 library's lower levels: an x86-64 host runs them under qemu-x86_64")
    out = tmp_path / "report.json"
    cmd = ["qemu-x86_64-static", "-cpu", cpu, sys.executable, "-m", "edgeattn.native.kernel_check", str(out),
           str(cases), str(build_dir() / "x86_64" / LIBRARY)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    assert {k for k in FEATURES if report["cpu_features"].get(k)} == has  # the CPU the library saw
    assert len(report["rows"]) == 3 + sum(len(s) for _, s in PM.values())
    for row in report["rows"]:
        assert row["executed"] == "f32" and row["max_abs"] is not None and row["max_abs"] <= TOL, row
