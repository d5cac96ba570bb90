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
from ..errors import CheckpointError, EdgeAttnError, InvalidOptionError
from ..models import InputSpec, ModelSpec

__all__ = ["is_user_model", "user_spec", "build_converted"]


def is_user_model(model: str) -> bool:
    return is_factory_spec(model)


def user_spec(config) -> ModelSpec:  # noqa: ANN001 - ExportConfig (import cycle otherwise)
    """Resolve the factory (import only; it is called later) and describe its input/output."""
    if config.input_size is None:
        raise InvalidOptionError(f"--model {config.model!r} is a user factory: give --input-size HxW (the export "
                                 "size; user models have no default)")
    if not 1 <= config.input_channels <= 4096:
        raise InvalidOptionError(f"--input-channels must be in 1..4096, got {config.input_channels}")
    if not config.input_name.isidentifier():
        raise InvalidOptionError(f"--input-name {config.input_name!r}: use letters, digits and underscores")
    name = config.name or resolve_factory(config.model).name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name.endswith(".failed"):
        raise InvalidOptionError(f"--name {name!r}: the bundle folder's name takes letters, digits, '_', '-' and "
                                 "'.', starting with a letter or digit (e.g. --name my_ccnet)")
    user = resolve_factory(config.model)
    if len(name) > 128:  # the bundle folder is named after it
        raise InvalidOptionError(f"the bundle name {name[:80]!r}... has {len(name)} characters: pass --name with at "
                                 "most 128")
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
    _check_weights(model, config.model)
    feeds = make_inputs(spec, config.batch, *config.input_size, seed=config.seed)
    example = tuple(torch.from_numpy(feeds[i.name]) for i in spec.inputs)
    _probe(model, example, config)
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


def _check_weights(model: nn.Module, spec: str) -> None:
    """The factory's own weights (no checkpoint, or after it) obey the checkpoint rule: no NaN/Inf (exit 2)."""
    bad = sorted(k for k, v in model.state_dict().items()
                 if v.is_floating_point() and not bool(torch.isfinite(v).all()))
    if bad:
        more = f" (+{len(bad) - 4} more)" if len(bad) > 4 else ""
        raise CheckpointError(f"--model {spec!r}: the model's weights hold NaN/Inf in {', '.join(bad[:4])}{more}; a "
                              "model with them cannot produce a finite reference (check the factory's init)")


def _probe(model: nn.Module, example: tuple, config) -> None:  # noqa: ANN001 - ExportConfig
    """One forward of the user's model before anything else: it must run on the CPU and return ONE finite
    floating tensor with the batch first; anything else is one line, exit 2 (never a traceback, never exit 1)."""
    shape = f"{config.batch}x{config.input_channels}x{config.input_size[0]}x{config.input_size[1]}"
    try:
        with torch.no_grad():
            out = model(*example)
    except EdgeAttnError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InvalidOptionError(f"--model {config.model!r}: the model's forward raised {type(exc).__name__} on a "
                                 f"{shape} input ({first}); check --input-size/--input-channels, and that the "
                                 "model runs on the CPU") from None
    if isinstance(out, (tuple, list, dict)):
        raise InvalidOptionError(f"--model {config.model!r}: the model's forward returned a {type(out).__name__} of "
                                 f"{len(out)}; edgeattn exports models with one output tensor: return the one you "
                                 "deploy (wrap the model in a module whose forward picks it)")
    if not isinstance(out, torch.Tensor):
        raise InvalidOptionError(f"--model {config.model!r}: the model's forward returned {type(out).__name__}, "
                                 "expected one tensor")
    if not out.is_floating_point() or out.device.type != "cpu":
        raise InvalidOptionError(f"--model {config.model!r}: the model's output is {out.dtype} on {out.device}; "
                                 "edgeattn exports a floating output computed on the CPU")
    if out.ndim < 2 or out.shape[0] != config.batch:
        raise InvalidOptionError(f"--model {config.model!r}: the model's output has shape {tuple(out.shape)} for a "
                                 f"{shape} input; expected the batch ({config.batch}) first and at least 2 axes")
    if not bool(torch.isfinite(out).all()):
        raise InvalidOptionError(f"--model {config.model!r}: the model outputs NaN/Inf on the seeded {shape} input; "
                                 "a reference must be finite (check the weights and the forward)")
