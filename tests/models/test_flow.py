"""lga_flow / flow_base: paths agree, export with GridSample, tensor and task-level parity on ORT and OpenVINO."""

import onnx
import torch

from edgeattn.export import ExportConfig, export
from edgeattn.export.audit import audit
from edgeattn.models import create_model, get_model_spec
from edgeattn.nn import set_path
from edgeattn.parity import make_inputs
from edgeattn.verify import verify_bundle

QUIET = dict(progress=lambda msg: None, verifier=verify_bundle)


def test_registered_with_two_frame_inputs():
    for name, attention in (("lga_flow", "lga"), ("flow_base", "")):
        spec = get_model_spec(name)
        assert spec.task == "flow" and spec.default_size == (384, 512) and spec.attention == attention
        assert [(i.name, i.kind) for i in spec.inputs] == [("frame1", "frame1"), ("frame2", "frame2")]


def test_reference_and_export_paths_agree_at_an_odd_size():
    model = create_model("lga_flow")
    feeds = make_inputs(get_model_spec("lga_flow"), 1, 37, 53)
    args = [torch.from_numpy(feeds[k]) for k in ("frame1", "frame2")]
    with torch.no_grad():
        exp = model(*args)
        ref = set_path(model, "reference")(*args)
    assert exp.shape == (1, 2, 37, 53) and exp.abs().mean() > 0.1  # a non-trivial flow
    torch.testing.assert_close(exp, ref, rtol=1e-4, atol=1e-4)


def test_lga_flow_dynamic_export_passes_parity_on_ort_and_openvino(tmp_path):
    cfg = ExportConfig(model="lga_flow", target="openvino", input_size=(48, 64), dynamic=True,
                       parity_sizes=((40, 72),), runtimes=("ort", "openvino"), output=tmp_path, threads=2)
    result = export(cfg, **QUIET)
    assert sorted((r.runtime, r.size) for r in result.parity) == sorted([
        ("ort", "48x64"), ("openvino", "48x64"), ("ort", "40x72"), ("openvino", "40x72")])
    for row in result.parity:
        assert row.passed, row
        assert row.task_metric == "epe_px" and row.task_value <= 0.01
    proto = onnx.load(str(result.folder / "model.onnx"))
    ops = {n.op_type for n in proto.graph.node}
    assert "GridSample" in ops and "Einsum" not in ops
    assert all(n.domain in ("", "ai.onnx") for n in proto.graph.node)  # standard ops only
    inferred = onnx.shape_inference.infer_shapes(proto)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in [*inferred.graph.value_info, *inferred.graph.input]}
    grid_inputs = [n.input[0] for n in proto.graph.node if n.op_type == "GridSample"]
    assert grid_inputs and all(ranks[name] == 4 for name in grid_inputs)  # TensorRT: GridSample 4-D only
    trt = audit(proto, "trt")
    assert trt.errors == [] and trt.hostile() == []


def test_flow_base_static_export_passes_parity(tmp_path):
    cfg = ExportConfig(model="flow_base", target="openvino", input_size=(32, 48), runtimes=("ort", "openvino"),
                       output=tmp_path, threads=2)
    rows = export(cfg, **QUIET).parity
    assert len(rows) == 2 and all(r.passed and r.task_metric == "epe_px" for r in rows), rows

