"""The bundle's reference comes from exactly the exported weights (the checkpoint), and says so in the manifest."""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file

from edgeattn.bundle import read_case, read_manifest, sha256_file, weights_sha256
from edgeattn.data.inputs import make_inputs
from edgeattn.models import create_model, get_model_spec

from .conftest import MODEL


def test_weights_and_checkpoint_hashes_are_recorded(ov_bundle, checkpoint):
    w = read_manifest(ov_bundle)["weights"]
    assert w["source"] == "checkpoint" and w["sha256"] == weights_sha256(load_file(str(checkpoint)))
    assert w["checkpoint"] == {"name": checkpoint.name, "sha256": sha256_file(checkpoint),
                               "bytes": checkpoint.stat().st_size}


def test_reference_is_the_checkpoints_output_not_random_inits(ov_bundle, checkpoint):
    manifest = read_manifest(ov_bundle)
    case = read_case(ov_bundle, manifest["reference"]["cases"][0], ["image"], ["logits"])
    spec = get_model_spec(MODEL)
    assert np.array_equal(case.inputs["image"], make_inputs(spec, 1, 64, 64, seed=0)["image"])
    x = torch.from_numpy(case.inputs["image"])
    with torch.no_grad():
        trained = create_model(MODEL, checkpoint=checkpoint)(x).numpy()
        torch.manual_seed(0)
        random_init = create_model(MODEL)(x).numpy()
    np.testing.assert_allclose(case.outputs["logits"], trained, atol=1e-5)
    # The trained weights move the output far beyond any tolerance: a random-init reference would fail.
    assert np.abs(random_init - trained).max() > 0.5
    floor = case.floor["logits"]
    # fp32 vs fp64 of these weights; the bar for this case is max(1e-4, 2 x floor), still far below 1e-2
    assert 0 < floor["max_abs"] < 2e-3 and manifest["tolerances"]["fp32/ort"]["max_abs"] == 1e-4


def test_manifest_describes_inputs_and_outputs(ov_bundle):
    m = read_manifest(ov_bundle)
    assert m["inputs"] == [{"name": "image", "dtype": "float32", "shape": [1, 3, 64, 64], "dynamic": None,
                            "layout": "NCHW", "range": [0.0, 1.0],
                            "semantics": "RGB float32 in [0, 1]; ImageNet normalisation is inside the graph"}]
    assert m["outputs"][0]["name"] == "logits" and m["outputs"][0]["shape"][:2] == [1, 19]
    assert m["target"] == "openvino" and m["precision"] == "fp32" and m["runtimes"] == ["openvino"]
    assert set(m["tolerances"]) >= {"fp32/ort", "fp32/openvino"}
