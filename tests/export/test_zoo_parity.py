"""Every segmentation model in the registry: dynamic export, audit, and parity on ONNX Runtime and OpenVINO.

Parametrized over `list_models(task="segmentation")`, so a newly registered model is covered without new
test code. Exported at one size and checked at a second size (not a multiple of 8, unlike the export size),
so the graphs really are shape-generic. Sizes are small to keep the whole file within ~60 s.
"""

import inspect

import onnx
import pytest

from edgeattn.export import ExportConfig, export
from edgeattn.export.audit import audit
from edgeattn.verify import verify_bundle
from edgeattn.models import get_model_spec, list_models

EXPORT_SIZE = (48, 64)  # feature map 6 x 8
CHECK_SIZE = (50, 54)  # feature map 7 x 7: input not a multiple of 8, both feature sides differ from the export
# Models whose attention documents why it needs rank-5 tensors (none so far): name -> reason.
RANK5_DOCUMENTED: dict[str, str] = {}


def _small(name: str) -> dict:
    # A half-width backbone (the attention head keeps its 128 channels) halves the cost of the test.
    builder = get_model_spec(name).builder
    return {"width_mult": 0.5} if "width_mult" in inspect.signature(builder).parameters else {}


@pytest.mark.parametrize("name", list_models(task="segmentation"))
def test_dynamic_export_is_clean_and_matches_pytorch_on_ort_and_openvino(name, tmp_path):
    cfg = ExportConfig(model=name, target="openvino", input_size=EXPORT_SIZE, dynamic=True,
                       parity_sizes=(CHECK_SIZE,), runtimes=("ort", "openvino"), output=tmp_path, threads=2,
                       model_kwargs=_small(name))
    result = export(cfg, progress=lambda msg: None, verifier=verify_bundle)
    rows = {(r.runtime, r.size): r for r in result.parity}
    assert set(rows) == {(rt, f"{h}x{w}") for rt in ("ort", "openvino") for h, w in (EXPORT_SIZE, CHECK_SIZE)}
    for row in rows.values():
        assert row.passed, row  # the tolerance table decides (verify/tolerances.py)
        assert row.task_value == 1.0  # argmax agreement at fp32
    hostile = audit(onnx.load(str(result.folder / "model.onnx")), "onnx").hostile()
    if name in RANK5_DOCUMENTED:
        hostile = [f for f in hostile if f.rule != "rank"]
    assert hostile == [], [f"{f.rule}: {f.op} {f.node}" for f in hostile]
    assert get_model_spec(name).attention  # every zoo model names its attention module
