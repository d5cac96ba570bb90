"""The audit in a bundle's manifest covers the model.onnx that ships (after the precision step rewrote it), for each
target and precision: same SHA-256, same op counts and findings when the shipped file is audited again, no errors,
and for TensorRT INT8 only what TensorRT's Q/DQ rules accept (float biases, INT8 symmetric Q/DQ)."""

from __future__ import annotations

import json

import onnx
import pytest

from edgeattn.bundle import sha256_file
from edgeattn.export import ExportConfig, export
from edgeattn.export.audit import audit

# each graph-rewriting path once: none, ORT Q/DQ (U8S8), float16 islands, TensorRT Q/DQ (S8S8, float biases). An
# openvino bundle's model.onnx is the fp32 graph its IR is converted from (NNCF quantizes the IR, not the ONNX).
CASES = [("onnx", "fp32"), ("ort", "int8"), ("trt", "fp16"), ("trt", "int8")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{t}-{p}" for t, p in CASES])
def shipped(request, tmp_path_factory):
    target, precision = request.param
    extra = {"calib_samples": 2, "eval_samples": 2} if precision == "int8" else {}
    if (target, precision) == ("trt", "fp16"):
        extra = {"eval_samples": 2}
    cfg = ExportConfig(model="lga_mobilenet", target=target, precision=precision, input_size=(32, 64),
                       output=tmp_path_factory.mktemp(f"{target}-{precision}"), parity=False, threads=1, **extra)
    return export(cfg, progress=lambda m: None).folder, target


def test_the_manifest_audit_is_the_audit_of_the_shipped_file(shipped):
    folder, target = shipped
    manifest = json.loads((folder / "manifest.json").read_text())
    recorded = manifest["audit"]
    assert recorded["file"] == "model.onnx"
    assert recorded["sha256"] == manifest["files"]["model.onnx"]["sha256"] == sha256_file(folder / "model.onnx")
    again = audit(onnx.load(folder / "model.onnx"), "trt" if target == "trt" else target).to_dict()
    for key in ("op_counts", "findings", "errors", "warnings", "target", "opset"):
        assert recorded[key] == again[key], key
    assert recorded["errors"] == 0


@pytest.mark.parametrize("shipped", [("trt", "int8")], indirect=True, ids=["trt-int8"])
def test_the_trt_int8_graph_holds_only_what_tensorrt_qdq_accepts(shipped):
    folder, target = shipped
    model = onnx.load(folder / "model.onnx")
    dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert target == "trt" and dq  # a Q/DQ graph, or the checks below would prove nothing
    inits = {i.name: i for i in model.graph.initializer}
    assert dq and all(inits[n.input[0]].data_type == onnx.TensorProto.INT8 for n in dq if n.input[0] in inits)
    report = audit(model, "trt")
    assert report.warnings == [] and report.errors == []
