"""TensorRT runner and engine builder: what can be checked without TensorRT here, and the device tests.

The device tests carry the `tensorrt` and `gpu` marks; tests/conftest.py skips them where TensorRT or a CUDA
device is missing. Run them on a Jetson inside docker/jetson (see docker/README.md):
    python -m pytest -q tests/runtimes/test_tensorrt.py
"""

import numpy as np
import pytest

from edgeattn.errors import InvalidOptionError, MissingDependencyError
from edgeattn.export import trt_build
from edgeattn.export.tensorrt import TrtRecipe, write_recipe
from edgeattn.runtimes import RuntimeOptions, load_runtime, runtime_class

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


@pytest.mark.skipif(TRT.available()[0], reason="TensorRT is available here")
def test_builder_without_tensorrt_fails_cleanly(tmp_path, capsys):
    write_recipe(_recipe(), tmp_path)
    with pytest.raises(MissingDependencyError, match="build_engine.sh"):
        trt_build.build_engine(tmp_path)
    assert trt_build.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgeattn.export.trt_build: error:") and "\n" not in err


def test_builder_validates_the_recipe_before_importing_tensorrt(tmp_path):
    with pytest.raises(InvalidOptionError, match="DLA has no FP32"):
        trt_build.build_engine(tmp_path, _recipe(dla_core=0))
    assert trt_build.main([str(tmp_path / "missing")]) == 2


def test_calibration_batches_are_deterministic_and_shaped():
    r = _recipe(batch=2, size=(32, 48), calib_batches=3)
    a, b = trt_build.calibration_batches(r), trt_build.calibration_batches(r)
    assert len(a) == 3 and all(x["image"].shape == (2, 3, 32, 48) and x["image"].dtype == np.float32 for x in a)
    assert all(np.array_equal(x["image"], y["image"]) for x, y in zip(a, b))
    assert not np.array_equal(a[0]["image"], a[1]["image"])  # distinct seeds give distinct batches


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_build_and_parity_on_device(tmp_path, precision):
    from edgeattn.export import ExportConfig, export
    from edgeattn.verify import verify_bundle

    cfg = ExportConfig(model="lga_mobilenet", target="trt", input_size=(64, 96), precision=precision,
                       output=tmp_path, runtimes=("tensorrt",))
    result = export(cfg, progress=lambda _: None, verifier=verify_bundle)
    engine = result.folder / "model.engine"
    assert engine.exists() and result.parity and result.parity_passed, [r.to_dict() for r in result.parity]
    with load_runtime("tensorrt", engine, RuntimeOptions(precision=precision)) as rt:
        assert rt.metadata["precision"] == precision and rt.input_names == ["image"]


@pytest.mark.tensorrt
@pytest.mark.gpu
def test_runner_builds_an_engine_from_a_bare_onnx_on_device(tmp_path):
    # the parity and bench harnesses hand runners a static model.onnx; the runner builds the engine itself
    from edgeattn.export import ExportConfig, export

    cfg = ExportConfig(model="lga_mobilenet", target="onnx", input_size=(64, 64), output=tmp_path, parity=False)
    onnx_path = export(cfg, progress=lambda _: None).folder / "model.onnx"
    from edgeattn.models import get_model_spec
    from edgeattn.parity import make_inputs

    feeds = make_inputs(get_model_spec("lga_mobilenet"), 1, 64, 64)
    with load_runtime("tensorrt", onnx_path) as trt_rt, load_runtime("ort", onnx_path) as ort_rt:
        assert np.abs(trt_rt.infer(feeds) - ort_rt.infer(feeds)).max() < 1e-2
