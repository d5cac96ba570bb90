"""Model registry: a dict filled by `@register_model`, populated by explicit imports in `models/__init__`.

A builder is a keyword-only function returning an `nn.Module` whose forward takes the inputs named in
its spec (float32 NCHW, RGB in [0, 1]; normalisation happens inside the model) and returns one tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from torch import nn

from ..errors import InvalidOptionError, unknown
from ..nn import set_path

__all__ = ["InputSpec", "ModelSpec", "register_model", "list_models", "get_model_spec", "create_model"]


@dataclass(frozen=True)
class InputSpec:
    """One model input: its ONNX name, channels, and the kind of synthetic data that suits it."""

    name: str = "image"
    channels: int = 3
    kind: str = "image"  # image | mask | hazy | frame1 | frame2  (data/synthetic.py make_input_batch keys on this)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str  # segmentation | dehazing | flow | inpainting
    builder: Callable[..., nn.Module]
    default_size: tuple[int, int]  # (H, W) of the input
    min_size: int  # smallest H and W the model accepts
    inputs: tuple[InputSpec, ...] = (InputSpec(),)
    output: str = "output"
    description: str = ""
    attention: str = ""  # the attention module that distinguishes this model
    # Lowest ONNX opset whose export computes this model: 11 for every model (bilinear Resize with half-pixel
    # coordinates arrived in opset 11; opset 9/10 export silently wrong upsampling, max abs 2.5 on lga_mobilenet),
    # 16 where GridSample is used (flow warping).
    min_opset: int = 11
    # Input pixels per attention-map pixel along each side (the stride of the feature map the attention runs on):
    # the memory estimate sizes the attention's maps from it (edgeattn/_resources.py).
    attention_stride: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


_MODELS: dict[str, ModelSpec] = {}


def register_model(
    *,
    task: str,
    default_size: tuple[int, int],
    min_size: int = 32,
    inputs: tuple[InputSpec, ...] = (InputSpec(),),
    output: str = "output",
    description: str = "",
    attention: str = "",
    min_opset: int = 11,
    attention_stride: int = 8,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under its function name. A duplicate name raises ValueError."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered (by {_MODELS[name].builder.__module__})")
        _MODELS[name] = ModelSpec(
            name=name,
            task=task,
            builder=fn,
            default_size=default_size,
            min_size=min_size,
            inputs=inputs,
            output=output,
            description=description or (fn.__doc__ or "").strip().splitlines()[0],
            attention=attention,
            min_opset=min_opset,
            attention_stride=attention_stride,
        )
        return fn

    return wrap


def list_models(task: str | None = None) -> list[str]:
    """Registered model names, sorted; optionally only those of one task."""
    return sorted(n for n, s in _MODELS.items() if task is None or s.task == task)


def get_model_spec(name: str) -> ModelSpec:
    try:
        return _MODELS[name]
    except KeyError:
        raise unknown("model", name, _MODELS) from None


def check_input_size(spec: ModelSpec, size: tuple[int, int]) -> tuple[int, int]:
    h, w = size
    if h < spec.min_size or w < spec.min_size:
        raise InvalidOptionError(
            f"input size {h}x{w} is too small for {spec.name}: both sides must be >= {spec.min_size} "
            f"(the backbone downsamples by its output stride); its default is "
            f"{spec.default_size[0]}x{spec.default_size[1]}."
        )
    return h, w


def create_model(
    name: str,
    *,
    path: str = "export",
    checkpoint: str | FsPath | None = None,
    pretrained: bool = False,
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model in eval mode with the chosen attention path.

    `pretrained=True` loads the trained weights shipped in `edgeattn/models/weights/` (fp16 on disk, float32
    in the model; see `models/pretrained.py`); a model without shipped weights raises CheckpointError naming
    the models that have them. `checkpoint` loads a state-dict file instead; the two exclude each other.
    Without either, the weights are He-initialised from torch's global RNG (seed it for reproducible
    weights) and BatchNorm statistics are calibrated on synthetic images (see `models/_init.py`).
    """
    spec = get_model_spec(name)
    if pretrained and checkpoint is not None:
        raise InvalidOptionError("pass either pretrained=True (shipped weights) or a checkpoint file, not both")
    if pretrained:
        from .pretrained import weights_info

        weights_info(name)  # before building: a model without weights fails fast, naming those that have them
    model = spec.builder(**kwargs)
    set_path(model, path)  # type: ignore[arg-type]
    if pretrained:
        from .pretrained import load_pretrained

        load_pretrained(model, name)
    elif checkpoint is not None:
        from .checkpoint import load_checkpoint

        load_checkpoint(model, checkpoint)
    else:
        from ._init import calibrate_batchnorm, init_weights

        init_weights(model)
        # Statistics at half the default resolution: the content scale the model is built for, at 1/4 the cost.
        cal = (max(spec.min_size, spec.default_size[0] // 2), max(spec.min_size, spec.default_size[1] // 2))
        calibrate_batchnorm(model, [(i.channels, i.kind) for i in spec.inputs], size=cal, batch=1)
    return model.eval()
