"""A --custom-ops OpenVINO IR: plain OpenVINO cannot create the PatchMatch layer, so the bundle says how to load it,
and edgeattn's runtime says so too where the extension cannot be registered. The criss-cross node is translated into
OpenVINO's own ops when the ONNX file is read (edgeattn/ops/criss_cross_openvino.py), so its IR needs nothing."""

import json

import pytest

from edgeattn.errors import MissingDependencyError
from edgeattn.export import ExportConfig, export
from edgeattn.export.openvino import custom_op_layers
from edgeattn.runtimes import load_runtime
from edgeattn.runtimes.openvino import OpenVinoRuntime

ov = pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def custom_ir(tmp_path_factory):
    cfg = ExportConfig(model="psal_inpaint", target="openvino", input_size=(48, 64), custom_ops=True,
                       output=tmp_path_factory.mktemp("ir"), parity=False, threads=1)
    return export(cfg, progress=lambda _: None).folder


def test_manifest_note_says_how_to_load_the_ir(custom_ir):
    assert custom_op_layers(custom_ir / "model.xml") == ["EdgeAttnPatchMatch"]
    (note,) = json.loads((custom_ir / "manifest.json").read_text())["notes"]
    assert "EdgeAttnPatchMatch" in note and "register_openvino_extensions(core)" in note
    assert "edgeattn.load_runtime('openvino'" in note


def test_plain_openvino_fails_and_edgeattn_loads_it(custom_ir):
    with pytest.raises(RuntimeError, match="extension"):  # what a user without edgeattn's extension sees
        ov.Core().read_model(str(custom_ir / "model.xml"))
    with load_runtime("openvino", custom_ir / "model.xml") as rt:
        assert rt.input_names == ["image", "mask"]


def test_runtime_without_the_extension_says_how_to_load_it(custom_ir, monkeypatch):
    monkeypatch.setattr(OpenVinoRuntime, "_add_extensions", lambda self, core: None)  # edgeattn.ops unimportable
    with pytest.raises(MissingDependencyError, match="register_openvino_extensions") as exc:
        load_runtime("openvino", custom_ir / "model.xml")
    assert "\n" not in str(exc.value) and "EdgeAttnPatchMatch" in str(exc.value)


def test_plain_ir_has_no_note(tmp_path):
    cfg = ExportConfig(model="lga_mobilenet", target="openvino", input_size=(32, 32), output=tmp_path, parity=False)
    folder = export(cfg, progress=lambda _: None).folder
    assert custom_op_layers(folder / "model.xml") == []
    assert "notes" not in json.loads((folder / "manifest.json").read_text())


def test_criss_cross_custom_op_ir_loads_in_plain_openvino(tmp_path):
    cfg = ExportConfig(model="ccnet_mobilenet", target="openvino", input_size=(32, 64), custom_ops=True,
                       output=tmp_path, parity=False, threads=1)
    folder = export(cfg, progress=lambda _: None).folder
    assert custom_op_layers(folder / "model.xml") == []
    assert "notes" not in json.loads((folder / "manifest.json").read_text())
    ov.Core().read_model(str(folder / "model.xml"))  # no extension needed
