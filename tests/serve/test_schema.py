"""config.pbtxt against Triton's own ModelConfig schema (tritonclient.grpc.model_config_pb2) and load rules."""

from __future__ import annotations

import pytest

from edgeattn.errors import ExportError
from edgeattn.serve.pbtxt import _q, check_config, config_text, parse_config
from edgeattn.serve.tensors import ServedTensors, TensorSpec
from edgeattn.serve.triton_backends import triton_backend, triton_backend_names
from edgeattn.serve.options import RepositoryOptions

TENSORS = ServedTensors(inputs=(TensorSpec("image", "float32", (-1, 3, -1, -1)),),
                        outputs=(TensorSpec("logits", "float32", (-1, 19, -1, -1)),), max_batch=8, dynamic_batch=True)


def _text(backend: str = "onnxruntime", **kw) -> str:  # noqa: ANN003
    cls = triton_backend(backend)
    args = dict(name="m", backend=cls.name, default_model_filename=cls.default_model_filename, tensors=TENSORS,
                max_batch_size=8, queue_delay_us=100, instances=1, kind=cls.kind,
                parameters={**cls.parameters(RepositoryOptions(bundle=".", output=".", threads=2), "fp32"),
                            "edgeattn.manifest": '{"note": "quote \\" backslash \\\\ newline \\n ü"}'})
    args.update(kw)
    return config_text(**args)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "tensorrt", "python"], ids=lambda b: f"{b}-config")
def test_every_backend_config_parses(backend: str) -> None:
    msg = check_config(_text(backend))
    assert msg.backend == backend
    assert msg.parameters["edgeattn.manifest"].string_value == '{"note": "quote \\" backslash \\\\ newline \\n ü"}'


def test_backends_registered() -> None:
    assert triton_backend_names() == ["onnxruntime", "openvino", "python", "tensorrt"]


@pytest.mark.parametrize("bad, needle", [
    (("max_batch_size: 8", "max_batch: 8"), 'no field named "max_batch"'),  # unknown field
    (("kind: KIND_CPU", "kind: KIND_CPUS"), "has no value named KIND_CPUS"),  # unknown enum value
    (("data_type: TYPE_FP32", "data_type: TYPE_FLOAT32"), "has no value named TYPE_FLOAT32"),
    (("max_batch_size: 8", 'max_batch_size: "8"'), "max_batch_size"),  # wrong type
    (("dims: [ 3, -1, -1 ]", "dims: [ 3, -1.5, -1 ]"), "dims"),
])
def test_schema_rejects_what_triton_rejects(bad: tuple[str, str], needle: str) -> None:
    text = _text()
    assert bad[0] in text
    with pytest.raises(ExportError, match="does not match Triton's ModelConfig schema") as info:
        parse_config(text.replace(bad[0], bad[1], 1))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_load_rules_beyond_the_schema() -> None:
    with pytest.raises(ExportError, match="dynamic_batching needs max_batch_size > 0"):
        check_config(_text().replace("max_batch_size: 8", "max_batch_size: 0"))
    with pytest.raises(ExportError, match=r"dims \[3, 0, -1\]"):
        check_config(_text().replace("dims: [ 3, -1, -1 ]", "dims: [ 3, 0, -1 ]"))
    with pytest.raises(ExportError, match="instance_group count 0"):
        check_config(_text(instances=0))


def test_static_config_has_batch_in_dims_and_no_batcher() -> None:
    static = ServedTensors(inputs=(TensorSpec("image", "float32", (1, 3, 64, 64)),),
                           outputs=(TensorSpec("logits", "float32", (1, 19, 64, 64)),), max_batch=1,
                           dynamic_batch=False)
    msg = check_config(_text(tensors=static, max_batch_size=0))
    assert list(msg.input[0].dims) == [1, 3, 64, 64] and not msg.HasField("dynamic_batching")


def test_string_literals_escape_every_byte() -> None:
    value = 'a"b\\c\n\tü€'
    assert parse_config(f"name: {_q(value)}").name == value
    assert _q(value).isascii()
