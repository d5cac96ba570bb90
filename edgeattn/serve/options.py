"""Typed options of `python -m edgeattn.serve export` (the CLI maps its flags onto these one to one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RepositoryOptions", "SERVERS"]

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
