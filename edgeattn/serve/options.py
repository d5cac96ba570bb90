"""Typed options of `python -m edgeattn.serve export` (the CLI maps its flags onto these one to one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RepositoryOptions", "SERVERS", "check_counts", "LIMITS"]

SERVERS = ("triton", "ovms")


@dataclass(frozen=True)
class RepositoryOptions:
    """What the generated repository asks of the server.

    backend: Triton backend; None picks the one matching the bundle's target (onnx/ort -> onnxruntime,
      openvino -> openvino, trt -> tensorrt). "python" serves model.onnx on ONNX Runtime inside Triton's Python
      backend (the variant this project runs against a real Triton in its tests).
    max_batch_size: None -> the bundle's own largest batch; larger than the bundle's is refused (never verified).
    queue_delay_us: dynamic batching's max_queue_delay_microseconds.
    instances: instance_group count (Triton) / nireq (OVMS).
    threads: intra-op threads per instance (0 = the runtime's default).
    streams: OpenVINO streams (Triton openvino backend NUM_STREAMS, OVMS plugin_config NUM_STREAMS).
    """

    bundle: Path
    output: Path
    server: str = "triton"
    model_name: str | None = None
    backend: str | None = None
    max_batch_size: int | None = None
    queue_delay_us: int = 2000
    instances: int = 1
    threads: int = 0
    streams: int = 1
    version: int = 1


#: every number `serve export` writes into a server's config, bounded (flag, attribute, lowest, highest)
LIMITS = (("--instances", "instances", 1, 256), ("--streams", "streams", 1, 256),
          ("--threads", "threads", 0, 256), ("--queue-delay-us", "queue_delay_us", 0, 60_000_000),
          ("--version", "version", 1, 2**31 - 1), ("--max-batch-size", "max_batch_size", 0, 1 << 16))


def check_counts(opts: RepositoryOptions) -> None:
    """Refuse (one line, exit 2) a count outside what a server could sensibly be configured with."""
    from ..errors import InvalidOptionError

    for flag, attr, low, high in LIMITS:
        value = getattr(opts, attr)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidOptionError(f"{flag} {value!r} is outside {low}..{high}; pass a value in that range")
