"""TensorRT runner and engine builder: what can be checked without TensorRT here, and the device tests.

The device tests carry the `tensorrt` and `gpu` marks; tests/conftest.py skips them where TensorRT or a CUDA
device is missing. Run them on a GPU machine with TensorRT, cuda-python and the dev requirements (they export with
PyTorch, which the Jetson images do not have; see docker/README.md):
    python -m pytest -q tests/runtimes/test_tensorrt.py tests/tensorrt/test_cuda.py
"""

import numpy as np
import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.runtimes import RuntimeOptions, load_runtime, runtime_class
from edgeattn.tensorrt import build as trt_build
from edgeattn.tensorrt.recipe import TrtRecipe

TRT = runtime_class("tensorrt")


def _recipe(**kw):
    base = dict(input_names=("image",), channels=(3,), batch=1, size=(64, 64), model="lga_mobilenet")
    return TrtRecipe(**{**base, **kw})


def test_runner_declares_precisions_and_artefact():
    # an export folder's engine first; a bare model.onnx (parity/bench harnesses) is built into an engine on load
    assert TRT.precisions == ("fp32", "fp16", "int8") and TRT.artefacts == ("model.engine", "model.onnx")


def test_available_says_why_not():
    ok, why = TRT.available()
    if ok:
        pytest.skip("TensorRT and a GPU are present here")
    assert "TensorRT" in why and ("docker/jetson" in why or "CUDA" in why)


def test_runner_module_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
            "from edgeattn.runtimes import tensorrt as r; from edgeattn.tensorrt import build, cuda, check, bench\n"
            "print(r.TensorRTRuntime.available()[0])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_builder_validates_the_recipe_before_importing_tensorrt(tmp_path):
    with pytest.raises(InvalidOptionError, match="DLA has no FP32"):
        trt_build.build_plan(tmp_path / "model.onnx", _recipe(dla_core=0), tmp_path)
    assert trt_build.main([str(tmp_path / "missing")]) == 2


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_build_and_parity_on_device(tmp_path, precision):
    # fp16: the float16 graph with float32 islands (edgeattn/precision), built strongly typed on 10.x and 11.x
    from edgeattn.export import ExportConfig
    from edgeattn.export.pipeline import export
    from edgeattn.tensorrt import check
    from edgeattn.verify import verify_bundle

    cfg = ExportConfig(model="lga_mobilenet", target="trt", input_size=(64, 96), precision=precision,
                       output=tmp_path, parity=False)
    folder = export(cfg, progress=lambda _: None).folder
    assert trt_build.main([str(folder)]) == 0  # hashes checked, engine built, recorded under device_files
    result = verify_bundle(folder, runtimes=["tensorrt"])
    assert result.verdict == "passed", [r.to_dict() for r in result.rows]
    assert check.main([str(folder)]) == 0
    with load_runtime("tensorrt", folder / "model.engine", RuntimeOptions(precision=precision)) as rt:
        assert rt.metadata["precision"] == precision and rt.input_names == ["image"]


@pytest.mark.tensorrt
@pytest.mark.gpu
def test_runner_builds_an_engine_from_a_bare_onnx_on_device(tmp_path):
    # the parity and bench harnesses hand runners a static model.onnx; the runner builds the engine itself
    from edgeattn.export import ExportConfig, export

    cfg = ExportConfig(model="lga_mobilenet", target="onnx", input_size=(64, 64), output=tmp_path, parity=False)
    onnx_path = export(cfg, progress=lambda _: None).folder / "model.onnx"
    from edgeattn.models import get_model_spec
    from edgeattn.data.inputs import make_inputs

    feeds = make_inputs(get_model_spec("lga_mobilenet"), 1, 64, 64)
    with load_runtime("tensorrt", onnx_path) as trt_rt, load_runtime("ort", onnx_path) as ort_rt:
        assert np.abs(trt_rt.infer(feeds) - ort_rt.infer(feeds)).max() < 1e-2
