"""Typed export configuration; the CLI maps its flags onto these fields one to one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidOptionError

__all__ = ["ExportConfig", "parse_size", "PRECISIONS"]

PRECISIONS = ("fp32", "fp16")


def parse_size(text: str) -> tuple[int, int]:
    """'512x1024' -> (512, 1024); '256' -> (256, 256)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX,]\s*(\d+))?\s*", str(text))
    if not m:
        raise InvalidOptionError(f"malformed size {text!r}: expected HxW with positive integers, e.g. 512x1024")
    h = int(m.group(1))
    w = int(m.group(2) or h)
    if h <= 0 or w <= 0:
        raise InvalidOptionError(f"malformed size {text!r}: height and width must be positive")
    return h, w


@dataclass(frozen=True)
class ExportConfig:
    model: str
    target: str = "onnx"
    input_size: tuple[int, int] | None = None  # None: the model's default
    batch: int = 1
    dynamic: bool = False
    opset: int = 17
    precision: str = "fp32"
    simplify: str = "onnxslim"
    output: Path = Path("artifacts")
    checkpoint: Path | None = None
    parity: bool = True
    runtimes: tuple[str, ...] | None = None  # None: the target's default parity runtimes
    parity_sizes: tuple[tuple[int, int], ...] = ()  # extra sizes to check (needs --dynamic)
    threads: int | None = None
    exporter: str = "torchscript"
    seed: int = 0
    model_kwargs: dict = field(default_factory=dict)
