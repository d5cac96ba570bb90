"""The seam between `--model` and user factories: `pkg.mod:factory` / `path/file.py:factory` -> model + spec.

A registered name goes through the model registry as before. A user factory (the `--model` value has a colon)
is resolved before any long work (module/file/factory not found: exit 2), given a ModelSpec derived from the
options (one float32 NCHW input named `--input-name` (default "image") with `--input-channels` (default 3)
channels, RGB-like in [0, 1]; one output "output"; task segmentation, whose bundle bar is the tensor
tolerance plus argmax agreement; `--input-size` required), built, loaded with `--checkpoint` (strict;
mmseg-style files read without mmcv/mmengine/mmseg), then converted by `edgeattn.convert` on the export-size
input. The conversion table is printed and returned for the manifest; a failed check stops the export
(exit 1) naming the module.
"""

from __future__ import annotations

import re

from collections.abc import Callable

import torch
from torch import nn

from ..convert import convert, load_user_checkpoint, resolve_factory
from ..convert.factory import UserModel, build_user_model, is_factory_spec
from ..data.inputs import make_inputs
from ..errors import InvalidOptionError
from ..models import InputSpec, ModelSpec

__all__ = ["is_user_model", "user_spec", "build_converted"]


def is_user_model(model: str) -> bool:
    return is_factory_spec(model)


def user_spec(config) -> ModelSpec:  # noqa: ANN001 - ExportConfig (import cycle otherwise)
    """Resolve the factory (import only; it is called later) and describe its input/output."""
    if config.input_size is None:
        raise InvalidOptionError(f"--model {config.model!r} is a user factory: give --input-size HxW (the export "
                                 "size; user models have no default)")
    if config.input_channels < 1:
        raise InvalidOptionError(f"--input-channels must be >= 1, got {config.input_channels}")
    if not config.input_name.isidentifier():
        raise InvalidOptionError(f"--input-name {config.input_name!r}: use letters, digits and underscores")
    name = config.name or resolve_factory(config.model).name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name.endswith(".failed"):
        raise InvalidOptionError(f"--name {name!r}: the bundle folder's name takes letters, digits, '_', '-' and "
                                 "'.', starting with a letter or digit (e.g. --name my_ccnet)")
    user = resolve_factory(config.model)
    return ModelSpec(name=name, task="segmentation", builder=user.factory, default_size=config.input_size,
                     min_size=1, inputs=(InputSpec(name=config.input_name, channels=config.input_channels),),
                     description=f"user model {config.model}")


def build_converted(config, spec: ModelSpec, progress: Callable[[str], None]) -> tuple[nn.Module, dict]:  # noqa: ANN001
    """Build, load the checkpoint, convert and check; returns (converted model, manifest record)."""
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = build_user_model(UserModel(config.model, spec.name, spec.builder))  # resolved once, in user_spec
    notes = load_user_checkpoint(model, config.checkpoint) if config.checkpoint is not None else []
    for note in notes:
        progress(f"  checkpoint: {note}")
    model.eval()
    feeds = make_inputs(spec, config.batch, *config.input_size, seed=config.seed)
    example = tuple(torch.from_numpy(feeds[i.name]) for i in spec.inputs)
    try:
        with torch.no_grad():
            result = convert(model, example=example)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InvalidOptionError(f"--model {config.model!r}: the model's forward failed on a {config.batch}x"
                                 f"{config.input_channels}x{config.input_size[0]}x{config.input_size[1]} input "
                                 f"({first}); check --input-size/--input-channels") from None
    progress("conversion:\n" + result.table())
    result.check()
    record = {"factory": config.model, "checkpoint_notes": notes, **result.to_json()}
    return result.model.eval(), record
