"""--custom-ops through the export pipeline and CLI: parity on ORT, OpenVINO and the reference evaluator; refusals."""

import json

import onnx
import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.export import ExportConfig, export
from edgeattn.export.__main__ import main
from edgeattn.export.validate import check_custom_ops as _check_custom_ops
from edgeattn.verify import verify_bundle

QUIET = dict(progress=lambda msg: None, verifier=verify_bundle)
ALL = ("ort", "openvino", "reference")


def _cfg(tmp_path, **kw):
    base = dict(target="openvino", output=tmp_path, threads=2, custom_ops=True, runtimes=ALL)
    base.update(kw)
    return ExportConfig(**base)


@pytest.mark.native  # the openvino target ships (and verify runs) the compiled kernels
@pytest.mark.parametrize("model, size, op, count, kwargs", [
    ("ccnet_mobilenet", (32, 64), "EdgeAttnCrissCross", 2, {}),
    ("psal_inpaint", (48, 40), "EdgeAttnPatchMatch", 1, {"n_iters": 2}),
])
def test_custom_op_export_passes_parity_everywhere(tmp_path, model, size, op, count, kwargs):
    result = export(_cfg(tmp_path, model=model, input_size=size, model_kwargs=kwargs), **QUIET)
    assert [r.runtime for r in result.parity] == list(ALL)
    assert all(r.passed for r in result.parity), result.parity
    proto = onnx.load(str(result.folder / "model.onnx"))
    assert [n.op_type for n in proto.graph.node if n.domain == "edgeattn"] == [op] * count
    assert any(o.domain == "edgeattn" and o.version == 1 for o in proto.opset_import)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["options"]["custom_ops"] is True
    assert {f["rule"] for f in manifest["audit"]["findings"]} >= {"custom-domain"}


@pytest.mark.native
@pytest.mark.parametrize("model, size, op, kwargs", [("ccnet_mobilenet", (32, 48), "EdgeAttnCrissCross", {}),
                                                    ("psal_inpaint", (40, 36), "EdgeAttnPatchMatch", {"n_iters": 2})])
def test_dynamo_exporter_writes_the_same_nodes(tmp_path, model, size, op, kwargs):
    """torch.onnx.ops.symbolic under dynamo: the same op, domain opset and attributes as the TorchScript route."""
    result = export(_cfg(tmp_path, model=model, input_size=size, model_kwargs=kwargs, exporter="dynamo", opset=18),
                    **QUIET)
    assert all(r.passed for r in result.parity) and len(result.parity) == len(ALL), result.parity
    proto = onnx.load(str(result.folder / "model.onnx"))
    nodes = [n for n in proto.graph.node if n.domain == "edgeattn"]
    assert {n.op_type for n in nodes} == {op}
    assert any(o.domain == "edgeattn" and o.version == 1 for o in proto.opset_import)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nodes[0].attribute}
    assert attrs["plugin_namespace"] == b"edgeattn" and attrs["plugin_version"] in (b"1", b"2")


@pytest.mark.native
def test_patchmatch_custom_op_exports_with_dynamic_sizes(tmp_path):
    """The custom node draws PatchMatch's tables per size at run time (every kernel), so --dynamic is allowed."""
    result = export(_cfg(tmp_path, model="psal_inpaint", input_size=(40, 36), dynamic=True,
                         parity_sizes=((48, 64), (36, 44)), model_kwargs={"n_iters": 2}), **QUIET)
    assert len(result.parity) == 3 * len(ALL) and all(r.passed for r in result.parity), result.parity


def test_trt_without_a_plugin_is_refused_naming_the_targets_that_can_run_it(tmp_path):
    with pytest.raises(InvalidOptionError, match="onnx, ort, openvino"):
        export(_cfg(tmp_path, model="ccnet_mobilenet", target="trt", runtimes=None), **QUIET)
    assert not (tmp_path / "ccnet_mobilenet").exists()


def test_refusals(tmp_path):
    with pytest.raises(InvalidOptionError, match="cannot be checked on tensorrt"):
        # called directly: validate() first refuses tensorrt here as not installed
        _check_custom_ops(_cfg(tmp_path, model="ccnet_mobilenet"), ["ort", "tensorrt"])
    with pytest.raises(InvalidOptionError, match="no layer with a custom op"):
        export(_cfg(tmp_path, model="lga_mobilenet", input_size=(32, 32), parity=False), **QUIET)


def test_cli_refusal_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["--model", "psal_inpaint", "--target", "trt", "--custom-ops", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "ort, openvino" in err


@pytest.mark.native
@pytest.mark.parametrize("model, size, precision, kwargs", [
    ("ccnet_mobilenet", (32, 64), "fp16-weights", {}),
    ("psal_inpaint", (48, 40), "fp16", {"n_iters": 2}),
])
def test_custom_op_openvino_lower_precisions_run_on_the_compiled_kernels(tmp_path, model, size, precision, kwargs):
    """The precision step compiles the custom-op IR with this machine's kernels (it used to crash: the IR's
    edgeattn layers need the library) and the bundle passes at its precision's bar."""
    result = export(_cfg(tmp_path, model=model, input_size=size, precision=precision, runtimes=("openvino",),
                         model_kwargs=kwargs), **QUIET)
    assert result.verdict == "passed", result.parity
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["precision"] == precision and "extensions" in manifest
    assert 'version="edgeattn"' in (result.folder / "model.xml").read_text()


@pytest.mark.parametrize("target, precision, match", [
    ("openvino", "int8", "cannot be combined with --precision int8"),
    ("ort", "int8", "cannot be combined with --precision int8"),
    ("trt", "fp16", "exports fp32 only"),
])
def test_custom_ops_refuse_precisions_whose_checks_cannot_run_the_kernels(tmp_path, target, precision, match):
    cfg = _cfg(tmp_path, model="ccnet_mobilenet", target=target, precision=precision, runtimes=("ort",),
               trt_plugins=("plugin.so",) if target == "trt" else ())
    with pytest.raises(InvalidOptionError, match=match):
        _check_custom_ops(cfg, ["ort"])


def test_cli_custom_ops_int8_is_one_line_before_any_work(tmp_path, capsys):
    code = main(["--model", "ccnet_mobilenet", "--target", "openvino", "--custom-ops", "--precision", "int8",
                 "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err and "int8" in err
    assert list(tmp_path.iterdir()) == []
