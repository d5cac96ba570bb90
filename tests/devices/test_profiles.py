"""Device profiles are data with sources, and `--device` shapes an export: the ONNX its ONNX Runtime loads (an
opset or IR version it cannot load is refused with exit 2), the TensorRT audit and build of its version, and the
profile in the manifest."""

from __future__ import annotations

import json
import platform

import onnx
import pytest
from onnx import TensorProto, helper

from edgeattn.devices import PROFILES, SOURCES, format_table, get_profile
from edgeattn.errors import InvalidOptionError, UnknownNameError
from edgeattn.export.__main__ import main
from edgeattn.export.device import check_loadable, lower_ir_version

FIGURES = ("os", "python", "numpy", "onnxruntime", "openvino", "tensorrt", "tensorrt_next", "cuda", "max_ir_version",
           "max_opset")
ARM = [name for name, p in PROFILES.items() if p.arch == "aarch64"]


def _one_line_error(capsys, code, *expected):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("[", "  "))]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("edgeattn.export: error:"), err
    assert all(e in lines[0] for e in expected) and "Traceback" not in err, lines[0]


def _model(ir: int, opset: int) -> onnx.ModelProto:
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def test_the_four_profiles_exist():
    assert {"jetson-orin-jp6", "jetson-jp7", "arm64-cpu", "x86-cpu"} <= set(PROFILES)
    assert (get_profile("jetson-orin-jp6").tensorrt, get_profile("jetson-jp7").tensorrt) == ("10.3", "10.16")
    assert get_profile("jetson-jp7").tensorrt_next == "11.4"


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_figure_names_its_source(name):
    p = PROFILES[name]
    for fig in FIGURES:
        if getattr(p, fig) is not None:
            assert p.sources.get(fig) in SOURCES, f"{name}.{fig} has no source"


@pytest.mark.parametrize("name", ARM)
def test_an_arm_profile_is_emulated_and_says_where_the_emulation_differs(name):
    p = PROFILES[name]
    assert p.emulation is not None and p.emulation.onnxruntime and p.emulation.numpy
    if p.emulation.python != p.python:
        assert any("Python" in n and p.python in n for n in p.emulation.notes)
    if p.emulation.onnxruntime != p.onnxruntime or p.tensorrt:  # a Jetson runs NVIDIA's GPU build, not PyPI's
        assert any(f"onnxruntime {p.emulation.onnxruntime}" in n for n in p.emulation.notes)


def test_the_x86_profile_is_this_machine():
    import numpy
    import onnxruntime
    import openvino

    p = get_profile("x86-cpu")
    assert platform.machine() == p.arch and p.emulation is None
    assert (onnxruntime.__version__, openvino.__version__.split("-")[0], numpy.__version__) == (
        p.onnxruntime, p.openvino, p.numpy)


def test_list_devices_prints_the_table_with_sources(capsys):
    assert main(["--list-devices"]) == 0
    out = capsys.readouterr().out
    assert out == format_table() + "\n"
    for name, p in PROFILES.items():
        assert name in out and p.onnxruntime in out
    assert "roboflow/inference/pull/2531" in out and "differs from the device: Python 3.11" in out


def test_unknown_device_is_one_line_with_a_suggestion(tmp_path, capsys):
    code = main(["--model", "lga_mobilenet", "--device", "jetson-orin", "--output", str(tmp_path)])
    _one_line_error(capsys, code, "unknown device profile 'jetson-orin'", "jetson-orin-jp6")
    with pytest.raises(UnknownNameError):
        get_profile("jetson")


def test_an_opset_the_device_cannot_load_is_refused_before_any_work(tmp_path, capsys):
    code = main(["--model", "lga_mobilenet", "--input-size", "64x64", "--opset", "22", "--device", "jetson-orin-jp6",
                 "--output", str(tmp_path / "out")])
    _one_line_error(capsys, code, "--opset 22", "ONNX Runtime 1.20.0", "opset <= 21")
    assert not (tmp_path / "out").exists()


def test_trt_for_a_device_without_tensorrt_is_refused(tmp_path, capsys):
    code = main(["--model", "lga_mobilenet", "--input-size", "64x64", "--target", "trt", "--device", "arm64-cpu",
                 "--output", str(tmp_path)])
    _one_line_error(capsys, code, "arm64-cpu has no TensorRT")


def test_the_ir_version_is_lowered_where_the_opset_allows_and_refused_where_not(tmp_path):
    jp6 = get_profile("jetson-orin-jp6")
    m = _model(14, 17)  # what onnx 1.23 may stamp on an opset-17 graph
    lower_ir_version(m, jp6)
    assert m.ir_version == 10
    onnx.save(m, tmp_path / "ok.onnx")
    assert check_loadable(tmp_path / "ok.onnx", jp6) == {"ir_version": 10, "opset": 17}
    new = _model(11, 23)  # opset 23 came with IR 11: nothing ONNX Runtime 1.20 can load
    lower_ir_version(new, jp6)
    assert new.ir_version == 11
    onnx.save(new, tmp_path / "new.onnx")
    with pytest.raises(InvalidOptionError, match=r"IR version 11, opset 23.*1\.20\.0 loads up to IR 10, opset 21"):
        check_loadable(tmp_path / "new.onnx", jp6)
    assert check_loadable(tmp_path / "new.onnx", get_profile("jetson-jp7"))["ir_version"] == 11


def test_a_device_export_names_the_profile_and_its_tensorrt(tmp_path, capsys):
    base = ["--model", "lga_mobilenet", "--input-size", "64x64", "--target", "trt", "--no-parity", "--threads", "2"]
    assert main([*base, "--device", "jetson-orin-jp6", "--output", str(tmp_path / "jp6")]) == 0
    assert main([*base, "--device", "jetson-jp7", "--output", str(tmp_path / "jp7")]) == 0
    jp6 = json.loads((tmp_path / "jp6" / "lga_mobilenet" / "manifest.json").read_text())
    jp7 = json.loads((tmp_path / "jp7" / "lga_mobilenet" / "manifest.json").read_text())
    assert jp6["device"]["name"] == "jetson-orin-jp6" and jp6["device"]["model_onnx"]["ir_version"] <= 10
    assert jp6["device"]["tensorrt_build"] == ["TensorRT 10.3.0: weakly typed, fp32"]
    assert jp6["device"]["verify_on_device"].endswith("--runtimes tensorrt")
    assert not [f for f in jp6["audit"]["findings"] if f["rule"] == "table"]  # 10.3's table is the transcribed one
    assert jp7["device"]["tensorrt_build"][1].startswith("TensorRT 11.4.0: strongly typed")
    assert not [f for f in jp7["audit"]["findings"] if f["rule"] == "table"]  # 10.16 has its own table now
    assert "10.15 edition" in jp7["audit"]["source"] and "10.1-GA" in jp6["audit"]["source"]
