import pytest

from edgeattn.errors import InvalidOptionError, MissingDependencyError, UnknownNameError
from edgeattn.runtimes import load_runtime, runtime_class, runtime_names


def test_backends_register_themselves():
    assert {"ort", "openvino", "reference", "tensorrt"} <= set(runtime_names())


def test_unknown_runtime_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean: openvino"):
        runtime_class("openvno")


def test_missing_backend_names_the_fix(tmp_path):
    ok, why = runtime_class("tensorrt").available()
    if ok:
        pytest.skip("TensorRT is available here")
    with pytest.raises(MissingDependencyError, match="tensorrt"):
        load_runtime("tensorrt", tmp_path)


def test_missing_artefact_is_clear(tmp_path):
    with pytest.raises(InvalidOptionError, match="model.onnx"):
        load_runtime("ort", tmp_path)
