"""lga_dehaze / dehaze_base: paths agree, export, tensor and task-level (PSNR) parity on ORT and OpenVINO."""

import torch

from edgeattn.export import ExportConfig, export
from edgeattn.models import create_model, get_model_spec
from edgeattn.nn import set_path
from edgeattn.parity import make_inputs
from edgeattn.verify import verify_bundle

QUIET = dict(progress=lambda msg: None, verifier=verify_bundle)


def test_registered_with_a_hazy_input():
    for name, attention in (("lga_dehaze", "lga"), ("dehaze_base", "")):
        spec = get_model_spec(name)
        assert spec.task == "dehazing" and spec.default_size == (480, 640) and spec.attention == attention
        assert [(i.name, i.kind) for i in spec.inputs] == [("image", "hazy")] and spec.output == "clean"


def test_reference_and_export_paths_agree_at_an_odd_size():
    model = create_model("lga_dehaze")
    image = torch.from_numpy(make_inputs(get_model_spec("lga_dehaze"), 1, 41, 67)["image"])
    with torch.no_grad():
        exp = model(image)
        ref = set_path(model, "reference")(image)
    assert exp.shape == (1, 3, 41, 67) and (exp - image).abs().mean() > 1e-3  # the network changes the image
    torch.testing.assert_close(exp, ref, rtol=1e-5, atol=1e-5)


def test_lga_dehaze_dynamic_export_passes_parity_on_ort_and_openvino(tmp_path):
    cfg = ExportConfig(model="lga_dehaze", target="openvino", input_size=(48, 64), dynamic=True,
                       parity_sizes=((56, 40),), runtimes=("ort", "openvino"), output=tmp_path, threads=2)
    rows = export(cfg, **QUIET).parity
    assert sorted((r.runtime, r.size) for r in rows) == sorted([
        ("ort", "48x64"), ("openvino", "48x64"), ("ort", "56x40"), ("openvino", "56x40")])
    for row in rows:
        assert row.passed, row
        assert row.task_metric == "psnr_db" and row.task_value >= 60


def test_dehaze_base_static_export_passes_parity(tmp_path):
    cfg = ExportConfig(model="dehaze_base", target="openvino", input_size=(32, 48), runtimes=("ort", "openvino"),
                       output=tmp_path, threads=2)
    rows = export(cfg, **QUIET).parity
    assert len(rows) == 2 and all(r.passed and r.task_metric == "psnr_db" for r in rows), rows

