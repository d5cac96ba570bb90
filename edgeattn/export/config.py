"""Typed export configuration; the CLI maps its flags onto these fields one to one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidOptionError

__all__ = ["ExportConfig", "parse_size", "size_arg", "sizes_arg", "PRECISIONS", "SIZE_HELP", "DEFAULT_OPSETS"]

#: what every HxW option means, in its --help
SIZE_HELP = "HxW in pixels (height x width, e.g. 512x1024); one number N means NxN (512 = 512x512)"

#: the opset each exporter uses when --opset is not given: 17 (the project's default, read by TensorRT 8.6+ and
#: every runtime here) for TorchScript; 18 for dynamo, which (torch 2.13) implements opset >= 18 only
DEFAULT_OPSETS = {"torchscript": 17, "dynamo": 18}
PRECISIONS = ("fp32", "fp16", "bf16", "fp16-weights", "int8")  # which target takes which: precision/apply.py


#: the largest height or width any size option accepts (TensorRT profiles and manifests carry it as written)
MAX_SIDE = 1 << 17


def parse_size(text: str) -> tuple[int, int]:
    """'512x1024' -> (512, 1024); '256' -> (256, 256)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX,]\s*(\d+))?\s*", str(text))
    if not m:
        spaces = " (several sizes: separate them with commas)" if len(str(text).split()) > 1 else ""
        raise InvalidOptionError(f"malformed size {text!r}: expected HxW with positive integers, e.g. 512x1024, "
                                 f"or one number N for NxN{spaces}")
    h = int(m.group(1))
    w = int(m.group(2) or h)
    if h <= 0 or w <= 0:
        raise InvalidOptionError(f"malformed size {text!r}: height and width must be positive")
    if max(h, w) > MAX_SIDE:  # the memory estimate refuses most sooner; this bounds sizes that are only written
        raise InvalidOptionError(f"size {text!r}: each side must be at most {MAX_SIDE} pixels")  # (e.g. --max-size)
    return h, w


def size_arg(text: str) -> tuple[int, int]:
    """argparse `type=` for one HxW size: a malformed value becomes argparse's usage error (exit 2)."""
    import argparse

    try:
        return parse_size(text)
    except InvalidOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def sizes_arg(text: str) -> tuple[tuple[int, int], ...]:
    """argparse `type=` for a comma-separated list of HxW sizes."""
    return tuple(size_arg(s) for s in text.split(",") if s.strip())


@dataclass(frozen=True)
class ExportConfig:
    model: str
    target: str = "onnx"
    input_size: tuple[int, int] | None = None  # None: the model's default
    batch: int = 1
    dynamic: bool = False
    opset: int | None = None  # None: the exporter's own default (DEFAULT_OPSETS), filled in on construction
    precision: str = "fp32"
    simplify: str = "onnxslim"
    output: Path = Path("artifacts")
    checkpoint: Path | None = None
    pretrained: bool = False  # the shipped trained weights (edgeattn/models/weights/); excludes checkpoint
    parity: bool = True
    runtimes: tuple[str, ...] | None = None  # None: the target's default parity runtimes
    parity_sizes: tuple[tuple[int, int], ...] = ()  # extra sizes to check (needs --dynamic)
    threads: int | None = None
    exporter: str = "torchscript"
    seed: int = 0
    sign_key: Path | None = None  # ECDSA private key (PEM): sign the bundle before publishing (bundle/signing.py)
    custom_ops: bool = False  # criss-cross / PatchMatch attention as one edgeattn-domain node each (edgeattn.ops)
    model_kwargs: dict = field(default_factory=dict)
    # a device profile (edgeattn/devices): the IR version/opset its runtimes load, its TensorRT; None: no device
    device: str | None = None
    # user factories (--model pkg.mod:factory or path/file.py:factory): the one image input
    input_name: str = "image"
    input_channels: int = 3
    name: str | None = None  # the bundle folder's (and manifest's) model name; None: the factory's name
    # TensorRT (--target trt); see tensorrt/recipe.py TrtRecipe
    workspace_mib: int = 1024  # builder workspace memory pool limit
    dla_core: int | None = None  # Jetson DLA core, None: GPU only
    min_size: tuple[int, int] | None = None  # dynamic profile minimum (H, W); None: the model's minimum input
    max_size: tuple[int, int] | None = None  # dynamic profile maximum (H, W); None: twice the export size
    max_batch: int | None = None  # dynamic profile maximum batch; None: --batch
    trt_plugins: tuple[str, ...] = ()  # TensorRT plugin libraries (custom ops)
    # Lower precisions (edgeattn/precision; --precision int8/fp16): see precision/config.py PrecisionConfig
    keep_float: str = "auto"  # auto | none | comma-separated block names, node names or op types
    calibration: str = "auto"  # auto (measured) | minmax | entropy | percentile
    calib_samples: int = 8
    eval_samples: int = 8
    max_drop: float | None = None  # None: the task's default (precision/bounds.py MAX_DROP)
    int8_weights: str = "per-channel"  # per-channel | per-tensor

    def __post_init__(self) -> None:
        if self.opset is None:  # an opset the user did not choose is the one the chosen exporter writes best
            object.__setattr__(self, "opset", DEFAULT_OPSETS.get(self.exporter, DEFAULT_OPSETS["torchscript"]))
