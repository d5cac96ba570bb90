"""OpenVINO telemetry is declined in everything edgeattn runs (edgeattn/_openvino.py), without touching the
user's environment or global consent file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("openvino", reason="needs OpenVINO: pip install 'edgeattn[openvino]'")

CODE = textwrap.dedent("""
    import os, sys
    import onnx
    from onnx import TensorProto, helper
    from edgeattn.runtimes import RuntimeOptions, load_runtime
    from edgeattn.export.openvino import convert_to_openvino
    from edgeattn._openvino import telemetry_state
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1] + "/m.onnx")
    load_runtime("openvino", sys.argv[1] + "/m.onnx", RuntimeOptions()).close()   # first import of openvino
    print("after import:", telemetry_state())
    convert_to_openvino(sys.argv[1] + "/m.onnx", sys.argv[1])                      # ovc re-decides consent
    print("after convert:", telemetry_state())
    print("CI:", os.environ.get("CI"))
""")


def test_telemetry_is_off_and_the_environment_untouched(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    proc = subprocess.run([sys.executable, "-c", CODE, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "after import: off" in lines or "after import: absent" in lines
    assert "after convert: off" in lines or "after convert: absent" in lines
    assert "CI: None" in lines
