"""psal_inpaint: standard-op export passes parity on ONNX Runtime and OpenVINO; holes only are changed."""

import numpy as np
import pytest
import torch

from edgeattn.errors import InvalidOptionError

from edgeattn.export import ExportConfig, export
from edgeattn.models import create_model, get_model_spec
from edgeattn.parity import make_inputs


def test_known_pixels_pass_through_and_holes_are_filled():
    spec = get_model_spec("psal_inpaint")
    assert [(i.name, i.channels, i.kind) for i in spec.inputs] == [("image", 3, "image"), ("mask", 1, "mask")]
    model = create_model("psal_inpaint", n_iters=1)
    feeds = make_inputs(spec, 1, 40, 36, seed=2)
    with torch.no_grad():
        out = model(*(torch.from_numpy(v) for v in feeds.values())).numpy()
    image, mask = feeds["image"], feeds["mask"]
    known = np.broadcast_to(mask == 0, image.shape)
    assert mask.any() and np.array_equal(out[known], image[known])
    assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - image)[~known].mean() > 1e-3  # holes got new content


def test_standard_export_passes_parity_on_ort_and_openvino(tmp_path):
    cfg = ExportConfig(model="psal_inpaint", target="openvino", input_size=(40, 44), output=tmp_path, threads=2,
                       runtimes=("ort", "openvino"), model_kwargs={"n_iters": 2})
    result = export(cfg, progress=lambda msg: None)
    assert all(r.passed for r in result.parity), result.parity
    assert result.audit.errors == []
    assert {f.op for f in result.audit.hostile()} == {"Gather"}  # PatchMatch's data-dependent lookups only


def test_dynamic_export_is_refused(tmp_path):
    cfg = ExportConfig(model="psal_inpaint", input_size=(32, 32), output=tmp_path, dynamic=True, parity=False)
    with pytest.raises(InvalidOptionError, match="static shapes only"):
        export(cfg, progress=lambda msg: None)
