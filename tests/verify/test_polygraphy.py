"""The bundle is checkable with a tool nobody here wrote: polygraphy run --load-inputs/--load-outputs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import onnx
import pytest
from onnx import numpy_helper

from edgeattn.bundle import read_manifest

# The polygraphy console script, run by this interpreter (its bin/ need not be on PATH).
POLYGRAPHY = [sys.executable, "-c", "import sys; from polygraphy.tools import main; sys.exit(main())"]


def _run(folder):
    manifest = read_manifest(folder)
    case = manifest["reference"]["cases"][0]
    tol = manifest["tolerances"]["fp32/ort"]
    # the bundle's own bar for this case, as verify applies it: max(max_abs, floor_factor x stored fp32 floor);
    # rtol 0: absolute only
    atol = max(tol["max_abs"], tol["floor_factor"] * case["floor"]["logits"]["max_abs"])
    cmd = [*POLYGRAPHY, "run", "model.onnx", "--onnxrt", "--load-inputs", case["polygraphy_inputs"],
           "--load-outputs", case["polygraphy_outputs"], "--atol", str(atol), "--rtol", "0"]
    return subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(importlib.util.find_spec("polygraphy") is None,
                    reason="polygraphy is a dev dependency: pip install -r requirements/dev.txt")
def test_polygraphy_passes_on_the_bundle_and_fails_on_a_tampered_model(ov_bundle, copy_of):
    good = _run(ov_bundle)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "PASSED" in good.stdout + good.stderr

    folder = copy_of(ov_bundle)
    model = onnx.load(str(folder / "model.onnx"))
    init = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)  # the largest weight
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.05, init.name))
    onnx.save(model, str(folder / "model.onnx"))
    bad = _run(folder)
    assert bad.returncode != 0 and "FAILED" in bad.stdout + bad.stderr
