"""A --custom-ops OpenVINO IR holds edgeattn's compiled ops (opset "edgeattn"): plain OpenVINO creates them only after
adding the bundle's extension library, so the bundle says how to load it, and edgeattn's runtime says so too when the
library is not given. Without the library (edgeattn's Python mappings, convert_to_openvino(library=None)) the
criss-cross node is translated into OpenVINO's own ops (edgeattn/ops/criss_cross_openvino.py)."""

import json

import pytest

from edgeattn.errors import MissingDependencyError
from edgeattn.export import ExportConfig, export
from edgeattn.export.openvino import custom_op_layers
from edgeattn.runtimes import RuntimeOptions, load_runtime
from edgeattn.runtimes.openvino import OpenVinoRuntime

ov = pytest.importorskip("openvino")
pytestmark = pytest.mark.native
LIB = "extensions/openvino/libedgeattn_openvino.so"


@pytest.fixture(scope="module")
def custom_ir(tmp_path_factory):
    cfg = ExportConfig(model="psal_inpaint", target="openvino", input_size=(48, 64), custom_ops=True,
                       output=tmp_path_factory.mktemp("ir"), parity=False, threads=1)
    return export(cfg, progress=lambda _: None).folder


def test_manifest_note_says_how_to_load_the_ir(custom_ir):
    assert custom_op_layers(custom_ir / "model.xml", "edgeattn") == ["EdgeAttnPatchMatch"]
    assert custom_op_layers(custom_ir / "model.xml") == []  # no Python-op layers
    (note,) = json.loads((custom_ir / "manifest.json").read_text())["notes"]
    assert "EdgeAttnPatchMatch" in note and LIB in note and "core.add_extension" in note


def test_plain_openvino_needs_the_library_and_then_loads_it(custom_ir):
    with pytest.raises(RuntimeError, match="unsupported opset: edgeattn"):  # what a user without the library sees
        ov.Core().read_model(str(custom_ir / "model.xml"))
    core = ov.Core()
    core.add_extension(str(custom_ir / LIB))
    assert [i.get_any_name() for i in core.read_model(str(custom_ir / "model.xml")).inputs] == ["image", "mask"]
    with load_runtime("openvino", custom_ir / "model.xml", RuntimeOptions(extensions=(str(custom_ir / LIB),))) as rt:
        assert rt.input_names == ["image", "mask"]


def test_runtime_without_the_library_says_how_to_load_it(custom_ir):
    with pytest.raises(MissingDependencyError, match="edgeattn.verify") as exc:
        load_runtime("openvino", custom_ir / "model.xml")
    assert "\n" not in str(exc.value) and "EdgeAttnPatchMatch" in str(exc.value) and "extensions=" in str(exc.value)


def test_python_op_ir_without_edgeattn_ops_says_how_to_load_it(tmp_path, monkeypatch):
    from edgeattn.export.openvino import convert_to_openvino

    convert_to_openvino(custom_ir_onnx(tmp_path), tmp_path)  # no library: edgeattn's Python mappings
    assert custom_op_layers(tmp_path / "model.xml") == ["EdgeAttnPatchMatch"]
    monkeypatch.setattr(OpenVinoRuntime, "_add_extensions", lambda self, core: None)  # edgeattn.ops unimportable
    with pytest.raises(MissingDependencyError, match="register_openvino_extensions") as exc:
        load_runtime("openvino", tmp_path / "model.xml")
    assert "\n" not in str(exc.value) and "EdgeAttnPatchMatch" in str(exc.value)


def custom_ir_onnx(tmp_path):
    cfg = ExportConfig(model="psal_inpaint", target="onnx", input_size=(48, 64), custom_ops=True,
                       output=tmp_path / "onnx", parity=False, threads=1)
    return export(cfg, progress=lambda _: None).folder / "model.onnx"


def test_plain_ir_has_no_note(tmp_path):
    cfg = ExportConfig(model="lga_mobilenet", target="openvino", input_size=(32, 32), output=tmp_path, parity=False)
    folder = export(cfg, progress=lambda _: None).folder
    assert custom_op_layers(folder / "model.xml") == []
    assert "notes" not in json.loads((folder / "manifest.json").read_text())


def test_criss_cross_without_the_library_is_decomposed_into_openvino_ops(tmp_path):
    from edgeattn.export.openvino import convert_to_openvino

    cfg = ExportConfig(model="ccnet_mobilenet", target="onnx", input_size=(32, 64), custom_ops=True,
                       output=tmp_path, parity=False, threads=1)
    folder = export(cfg, progress=lambda _: None).folder
    convert_to_openvino(folder / "model.onnx", folder)  # edgeattn's Python mappings
    assert custom_op_layers(folder / "model.xml") == [] == custom_op_layers(folder / "model.xml", "edgeattn")
    ov.Core().read_model(str(folder / "model.xml"))  # no extension needed
