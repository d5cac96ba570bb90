"""Export -> bundle -> verify of the staged bundle through the real ONNX Runtime and OpenVINO, at small sizes."""

import json

import onnx
import pytest

from edgeattn.errors import ExportError, InvalidOptionError
from edgeattn.export import ExportConfig, export
from edgeattn.export.audit import audit
from edgeattn.verify import verify_bundle

SMALL = (64, 128)
QUIET = dict(progress=lambda msg: None, verifier=verify_bundle)


def _cfg(tmp_path, **kw):
    base = dict(model="lga_mobilenet", target="onnx", input_size=SMALL, output=tmp_path, threads=2,
                model_kwargs={})
    base.update(kw)
    return ExportConfig(**base)


def test_openvino_export_passes_parity_on_ort_and_openvino(tmp_path):
    result = export(_cfg(tmp_path, target="openvino", runtimes=("ort", "openvino")), **QUIET)
    folder = tmp_path / "lga_mobilenet"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.bin", "model.onnx", "model.xml",
                                                        "reference"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lga_mobilenet"]  # no lock, staging or old folder left
    assert [r.runtime for r in result.parity] == ["ort", "openvino"]
    for row in result.parity:
        assert row.passed, row
        assert row.max_abs_err <= 1e-4 and row.task_value == 1.0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["verdict"] == "passed" and manifest["opset"] == 17 and result.verdict == "passed"
    case = "reference/64x128/"
    assert set(manifest["files"]) == {"model.onnx", "model.xml", "model.bin", case + "inputs.npz",
                                      case + "outputs.npz", case + "polygraphy_inputs.json",
                                      case + "polygraphy_outputs.json"}
    assert manifest["inputs"][0]["shape"] == [1, 3, *SMALL]
    assert {"torch", "onnx", "onnxruntime", "openvino"} <= set(manifest["tools"])
    assert manifest["audit"]["errors"] == 0


def test_default_export_of_lga_mobilenet_has_no_hostile_ops(tmp_path):
    export(_cfg(tmp_path, parity=False), **QUIET)
    model = onnx.load(str(tmp_path / "lga_mobilenet" / "model.onnx"))
    report = audit(model, "trt")
    assert report.hostile() == [] and report.errors == []
    assert model.opset_import[0].version == 17


def test_dynamic_export_runs_at_another_size(tmp_path):
    result = export(_cfg(tmp_path, target="ort", dynamic=True, batch=2, parity_sizes=((72, 100),)), **QUIET)
    assert [r.size for r in result.parity] == ["2x64x128", "2x72x100"]
    assert all(r.passed for r in result.parity), result.parity
    graph_input = onnx.load(str(tmp_path / "lga_mobilenet" / "model.onnx")).graph.input[0]
    assert [d.dim_param for d in graph_input.type.tensor_type.shape.dim] == ["batch", "", "height", "width"]


def test_export_twice_gives_identical_bytes(tmp_path):
    a = export(_cfg(tmp_path / "a", model="nonlocal_mobilenet", parity=False), **QUIET)
    b = export(_cfg(tmp_path / "b", model="nonlocal_mobilenet", parity=False), **QUIET)
    da = (a.folder / "model.onnx").read_bytes()
    assert da == (b.folder / "model.onnx").read_bytes()
    assert a.manifest["files"] == b.manifest["files"]


def test_trt_target_writes_recipe_checks_the_onnx_and_leaves_the_engine_to_the_device(tmp_path):
    result = export(_cfg(tmp_path, target="trt", precision="fp16", dynamic=True), **QUIET)
    script = (tmp_path / "lga_mobilenet" / "build_engine.sh").read_text()
    assert "trtexec --onnx=model.onnx --saveEngine=model.engine" in script and "--fp16" in script
    assert "--minShapes=image:1x3x32x32" in script and "--optShapes=image:1x3x64x128" in script
    # The engine is built on the device: at export ORT checks the ONNX it is built from; verify's default for the
    # bundle is TensorRT (the target's own runtime).
    assert {r.runtime: r.status for r in result.parity} == {"ort": "passed"}
    assert result.manifest["runtimes"] == ["tensorrt"] and result.manifest["export_runtimes"] == ["ort"]
    assert "trt_recipe.json" in result.manifest["files"] and "build_engine.sh" in result.manifest["files"]


def test_fp16_for_ort_is_refused_with_the_alternatives(tmp_path):
    with pytest.raises(InvalidOptionError, match="targets with fp16: openvino, trt"):
        export(_cfg(tmp_path, target="ort", precision="fp16"), **QUIET)


def test_parity_size_needs_dynamic(tmp_path):
    with pytest.raises(InvalidOptionError, match="needs --dynamic"):
        export(_cfg(tmp_path, parity_sizes=((64, 64),)), **QUIET)


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    import edgeattn.export.pipeline as pipeline

    def boom(*a, **k):
        raise ExportError("converter exploded")

    monkeypatch.setattr(pipeline, "_target_artefacts", boom)
    with pytest.raises(ExportError):
        export(_cfg(tmp_path, target="openvino"), **QUIET)
    assert list(tmp_path.iterdir()) == []  # no staging folder, no lock file


def test_interrupted_export_keeps_the_previous_artefacts(tmp_path, monkeypatch):
    import edgeattn.export.pipeline as pipeline

    first = export(_cfg(tmp_path, parity=False), **QUIET)
    before = (first.folder / "manifest.json").read_bytes()

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "reference_cases", interrupt)
    with pytest.raises(KeyboardInterrupt):
        export(_cfg(tmp_path, input_size=(96, 96)), **QUIET)
    assert [p.name for p in tmp_path.iterdir()] == ["lga_mobilenet"]  # no staging folder left behind
    assert (first.folder / "manifest.json").read_bytes() == before


def test_dynamo_exporter_is_available_on_request(tmp_path):
    pytest.importorskip("onnxscript")
    cfg = _cfg(tmp_path, model="nonlocal_mobilenet", exporter="dynamo", opset=18, runtimes=("ort",))
    result = export(cfg, **QUIET)
    assert all(r.passed for r in result.parity)
