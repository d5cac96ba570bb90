"""A bundle verified on emulated ARM64 devices: each ARM64 profile's own runtime versions (aarch64 wheels from
PyPI) in a Debian arm64 userland under qemu-user, with edgeattn's device install (no torch, no onnx). Real qemu,
real wheels; the first run builds the cache (~/.cache/edgeattn/emulate), later runs reuse it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from edgeattn.devices import PROFILES, DeviceProfile, Emulation, get_profile
from edgeattn.emulate.__main__ import main
from edgeattn.emulate.cache import cache_root
from edgeattn.emulate.packages import ensure_dependencies
from edgeattn.emulate.userland import SetupError, ensure_userland
from edgeattn.verify.__main__ import main as verify_main

ARM = [name for name, p in PROFILES.items() if p.arch == "aarch64"]


@pytest.mark.emulate
@pytest.mark.parametrize("device", ARM)
def test_every_arm64_profile_verifies_the_bundle_without_torch(device, small_bundle, tmp_path, capsys):
    code = main([str(small_bundle), "--device", device, "--json", str(tmp_path / "r.json"), "--quiet"])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and out.rstrip().endswith("PASSED"), out
    emu = get_profile(device).emulation
    assert report["machine"] == "aarch64" and report["python"].startswith(emu.python)
    assert report["torch_importable"] is False and report["onnx_importable"] is False
    assert "torch" not in report["packages"] and "onnx" not in report["packages"]
    assert report["packages"]["onnxruntime"] == emu.onnxruntime and report["packages"]["numpy"] == emu.numpy
    assert report["modules_outside"] == []  # nothing of the host's Python ran inside
    rows = {r["runtime"]: r for r in report["verify"]["rows"]}
    expected = {"ort", "openvino"} if emu.openvino else {"ort"}
    assert set(rows) == expected and all(r["status"] == "passed" and r["precision"] == "fp32" for r in rows.values())
    assert report["verdict"] == "passed" and report["exit_status"] == 0
    assert "emulation speed" in out and "emulation speed" in report["emulation"]["timing_note"]


@pytest.mark.emulate
def test_a_tampered_bundle_fails_under_emulation_as_on_the_host(small_bundle, tmp_path, capsys):
    bundle = tmp_path / "lga_mobilenet"
    shutil.copytree(small_bundle, bundle)
    with open(bundle / "model.onnx", "r+b") as f:  # one changed byte in the shipped graph
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    host = verify_main([str(bundle), "--quiet"])
    host_err = capsys.readouterr().err
    code = main([str(bundle), "--device", "arm64-cpu", "--runtimes", "ort", "--json", str(tmp_path / "r.json"),
                 "--quiet"])
    err = capsys.readouterr().err
    report = json.loads((tmp_path / "r.json").read_text())
    assert host == code == 2
    assert "model.onnx" in host_err and "model.onnx" in report["error"] and "model.onnx" in err
    assert report["machine"] == "aarch64" and report["verdict"] == "error"


def test_no_qemu_is_one_line_and_exit_2(small_bundle):
    proc = subprocess.run([sys.executable, "-m", "edgeattn.emulate", str(small_bundle), "--device", "jetson-jp7"],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/nonexistent", "HOME": "/tmp", "PYTHONPATH": ":".join(sys.path)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "qemu-aarch64-static not found" in lines[0] and "qemu-user-static" in lines[0]


def test_a_native_profile_points_at_verify(small_bundle, capsys):
    assert main([str(small_bundle), "--device", "x86-cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "python -m edgeattn.verify" in err[0]


@pytest.mark.emulate
def test_a_wheel_that_does_not_exist_for_aarch64_is_one_clear_error(tmp_path):
    ghost = DeviceProfile(name="ghost", title="", arch="aarch64", os="", python="3.11", numpy="2.4.6",
                          onnxruntime="1.0.99", max_ir_version=10, max_opset=21,
                          emulation=Emulation(numpy="2.4.6", onnxruntime="1.0.99"))
    with pytest.raises(SetupError, match=r"onnxruntime==1\.0\.99 does not exist for aarch64"):
        ensure_dependencies(tmp_path, ghost, progress=lambda m: None)
    assert not list((tmp_path / "sites").glob("ghost-*"))  # nothing half-made left to be mistaken for a cache


@pytest.mark.emulate
def test_unreachable_debian_packages_are_one_clear_error(tmp_path):
    with pytest.raises(SetupError, match="no Debian packages reachable"):
        ensure_userland(tmp_path, "bookworm", "3.11", progress=lambda m: None, mirror="http://127.0.0.1:9/debian")
    assert not (tmp_path / "debian-bookworm-arm64").exists()


def test_the_cache_is_outside_the_checkout_and_set_by_one_variable(monkeypatch, tmp_path):
    from pathlib import Path

    import edgeattn

    checkout = Path(edgeattn.__file__).resolve().parents[1]
    monkeypatch.delenv("EDGEATTN_EMULATE_CACHE", raising=False)
    assert not cache_root().is_relative_to(checkout)
    monkeypatch.setenv("EDGEATTN_EMULATE_CACHE", str(tmp_path / "c"))
    assert cache_root() == (tmp_path / "c").resolve()


@pytest.mark.emulate
@pytest.mark.slow
def test_an_fp16_bundle_executes_true_fp16_on_arm_and_passes_the_measured_bar(tmp_path, capsys):
    from edgeattn.export.__main__ import main as export_main

    assert export_main(["--model", "lga_mobilenet", "--pretrained", "--input-size", "64x128", "--target", "openvino",
                        "--precision", "fp16", "--no-parity", "--threads", "2", "--output", str(tmp_path)]) == 0
    capsys.readouterr()
    code = main([str(tmp_path / "lga_mobilenet"), "--device", "arm64-cpu", "--runtimes", "openvino", "--json",
                 str(tmp_path / "r.json"), "--quiet"])
    report = json.loads((tmp_path / "r.json").read_text())
    (row,) = report["verify"]["rows"]
    assert code == 0 and row["status"] == "passed", row
    assert row["precision"] == "fp16"  # what executed: true fp16 on ARM (this x86 CPU would run bf16)
    assert row["tolerance"] == 0.2 and row["max_abs_err"] > 1e-3  # rounded like fp16, judged by the fp16 entry
