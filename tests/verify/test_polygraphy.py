"""The bundle is checkable with a tool nobody here wrote: polygraphy run --load-inputs/--load-outputs."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys

import onnx
import pytest
from onnx import numpy_helper

from edgeattn.bundle import read_manifest
from edgeattn.verify.polygraphy import polygraphy_commands

# The polygraphy console script, run by this interpreter (its bin/ need not be on PATH).
POLYGRAPHY = [sys.executable, "-c", "import sys; from polygraphy.tools import main; sys.exit(main())"]


def _run(folder):
    """The command `python -m edgeattn.verify BUNDLE --polygraphy` prints, run with this interpreter."""
    (line,) = polygraphy_commands(folder)
    cmd = shlex.split(line)
    assert cmd[:2] == ["polygraphy", "run"]
    manifest = read_manifest(folder)
    case, tol = manifest["reference"]["cases"][0], manifest["tolerances"]["fp32/ort"]
    # the case's own bar, as verify applies it: max(max_abs, floor_factor x stored fp32 floor); rtol 0
    bar = max(tol["max_abs"], tol["floor_factor"] * case["floor"]["logits"]["max_abs"])
    atol = float(cmd[cmd.index("--atol") + 1])
    assert bar <= atol <= bar * 1.01 and cmd[cmd.index("--rtol") + 1] == "0"
    return subprocess.run([*POLYGRAPHY, *cmd[1:]], cwd=folder, capture_output=True, text=True, timeout=300)


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
