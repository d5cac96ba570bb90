"""config.pbtxt text for one Triton model, and its check against Triton's own schema.

The text is written here (so writing a repository needs no Triton package), then parsed with
google.protobuf.text_format into `inference.ModelConfig` from tritonclient's `model_config_pb2`, the message
Triton itself parses config.pbtxt into: a field, enum value or type Triton would reject fails here. On top of
the schema, the rules Triton applies when it loads a model (dims, batching) are checked in `check_config`.
"""

from __future__ import annotations

from ..errors import ExportError, MissingDependencyError
from .tensors import ServedTensors, TensorSpec

__all__ = ["config_text", "parse_config", "check_config"]


def _q(value: str) -> str:
    """A protobuf text-format string literal: printable ASCII as is, '"' and '\\' escaped, every other byte of
    the UTF-8 encoding as a 3-digit octal escape (the form protobuf's own CEscape writes, read by every parser)."""
    out = []
    for b in value.encode("utf-8"):
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _tensor_block(spec: TensorSpec, batched: bool) -> str:
    dims = spec.dims[1:] if batched else spec.dims
    return (f"  {{\n    name: {_q(spec.name)}\n    data_type: {spec.triton_dtype}\n"
            f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}")


def config_text(*, name: str, backend: str, default_model_filename: str, tensors: ServedTensors,
                max_batch_size: int, queue_delay_us: int, instances: int, kind: str,
                parameters: dict[str, str]) -> str:
    """The config.pbtxt of one model. max_batch_size 0 means the bundle's batch axis is static: dims then carry
    the batch axis and there is no dynamic batching (Triton batches only models with max_batch_size > 0)."""
    batched = max_batch_size > 0
    lines = [f"name: {_q(name)}", f"backend: {_q(backend)}", f"max_batch_size: {max_batch_size}"]
    if default_model_filename:
        lines.append(f"default_model_filename: {_q(default_model_filename)}")
    lines.append("input [\n" + ",\n".join(_tensor_block(t, batched) for t in tensors.inputs) + "\n]")
    lines.append("output [\n" + ",\n".join(_tensor_block(t, batched) for t in tensors.outputs) + "\n]")
    if batched:
        lines.append(f"dynamic_batching {{\n  max_queue_delay_microseconds: {queue_delay_us}\n}}")
    lines.append(f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]")
    for key, value in parameters.items():
        lines.append(f"parameters {{\n  key: {_q(key)}\n  value {{ string_value: {_q(value)} }}\n}}")
    return "\n".join(lines) + "\n"


def parse_config(text: str, where: str = "config.pbtxt"):  # noqa: ANN201 - a model_config_pb2.ModelConfig
    """Parse config.pbtxt text into Triton's ModelConfig message; ExportError (one line) if Triton would not."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except ImportError:
        raise MissingDependencyError(
            "checking config.pbtxt against Triton's schema needs tritonclient: pip install 'edgeattn[serve]' "
            "(in a checkout: pip install -e '.[serve]')") from None
    message = model_config_pb2.ModelConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise ExportError(f"{where} does not match Triton's ModelConfig schema: {str(exc).splitlines()[0]}") from None
    return message


def check_config(text: str, where: str = "config.pbtxt"):  # noqa: ANN201 - a model_config_pb2.ModelConfig
    """Schema parse plus the load-time rules Triton applies to what the schema allows."""
    msg = parse_config(text, where)
    problems = []
    if not msg.name:
        problems.append("name is empty")
    if not (msg.backend or msg.platform):
        problems.append("neither backend nor platform is set")
    if msg.max_batch_size < 0:
        problems.append(f"max_batch_size {msg.max_batch_size} is negative")
    if msg.HasField("dynamic_batching") and msg.max_batch_size == 0:
        problems.append("dynamic_batching needs max_batch_size > 0")
    for kind, tensors in (("input", msg.input), ("output", msg.output)):
        if not tensors:
            problems.append(f"no {kind}")
        names = [t.name for t in tensors]
        if len(set(names)) != len(names):
            problems.append(f"duplicate {kind} names {names}")
        for t in tensors:
            if t.data_type == 0:  # TYPE_INVALID
                problems.append(f"{kind} {t.name!r} has no data_type")
            if not t.dims or any(d == 0 or d < -1 for d in t.dims):
                problems.append(f"{kind} {t.name!r} has dims {list(t.dims)} (each must be -1 or positive)")
    for group in msg.instance_group:
        if group.count < 1:
            problems.append(f"instance_group count {group.count} < 1")
    if problems:
        raise ExportError(f"{where} would be rejected by Triton: {'; '.join(problems)}")
    return msg
