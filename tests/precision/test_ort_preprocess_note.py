"""ONNX Runtime's "consider pre-processing" advice is said once per process, in one line, not per quantization."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
from onnxruntime import quantization as q
from edgeattn.precision.ort_int8 import _preprocessing_note_once

w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "m.onnx")

class Reader(q.CalibrationDataReader):
    def __init__(self):
        self.it = iter([{"x": np.random.default_rng(1).random((1, 3, 8, 8), dtype=np.float32)}])
    def get_next(self):
        return next(self.it, None)

for i in range(3):
    with _preprocessing_note_once():
        q.quantize_static("m.onnx", f"q{i}.onnx", Reader(), quant_format=q.QuantFormat.QDQ)
"""


def test_preprocessing_advice_is_one_line_per_process(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "pre-processing" in line]
    assert len(lines) == 1 and lines[0].strip().startswith("note: ONNX Runtime suggests"), proc.stderr
    assert (tmp_path / "q2.onnx").is_file()
