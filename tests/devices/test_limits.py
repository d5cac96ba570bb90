"""The IR version and opset limits in the profiles are what each profile's ONNX Runtime build loads: its highest
loads, one more is refused. ARM64 profiles are checked in their emulated userland (their own aarch64 build), the
x86 profile with this machine's ONNX Runtime."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from edgeattn.devices import PROFILES

ARM = [name for name, p in PROFILES.items() if p.arch == "aarch64"]


def _write(path, ir: int, opset: int) -> str:
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    onnx.save(m, path)
    return str(path)


def _models(tmp_path, p) -> dict[str, str]:
    return {"ir": _write(tmp_path / "ir.onnx", p.max_ir_version, 13),
            "ir+1": _write(tmp_path / "ir1.onnx", p.max_ir_version + 1, 13),
            "opset": _write(tmp_path / "op.onnx", 8, p.max_opset),
            "opset+1": _write(tmp_path / "op1.onnx", 8, p.max_opset + 1)}


def _check(loaded: dict[str, bool]) -> None:
    assert loaded == {"ir": True, "ir+1": False, "opset": True, "opset+1": False}, loaded


def test_the_x86_profile_limits_are_this_onnxruntime():
    import tempfile
    from pathlib import Path

    import onnxruntime as ort

    p = PROFILES["x86-cpu"]
    with tempfile.TemporaryDirectory() as tmp:
        loaded = {}
        for key, path in _models(Path(tmp), p).items():
            try:
                ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                loaded[key] = True
            except Exception:  # noqa: BLE001 - refusal is the expected outcome for +1
                loaded[key] = False
    _check(loaded)


@pytest.mark.emulate
@pytest.mark.slow
@pytest.mark.parametrize("device", ARM)
def test_an_arm64_profile_limits_are_its_onnxruntime_build(device, tmp_path):
    from edgeattn.emulate.run import run_inside

    p = PROFILES[device]
    models = _models(tmp_path, p)
    report, _ = run_inside(p, "edgeattn.emulate.probe", list(models.values()), progress=lambda m: None)
    assert report["onnxruntime"] == p.emulation.onnxruntime
    _check({key: report["errors"][path] == "" for key, path in models.items()})
