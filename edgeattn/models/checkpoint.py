"""Loading state dicts from .pt/.pth (torch.load, weights_only=True) or .safetensors files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError

__all__ = ["load_checkpoint", "load_state_dict_strict", "read_state_dict", "state_problems"]


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(
            f"checkpoint {str(p)!r} does not exist or is not a regular file (pass the path of a .pt, .pth or "
            ".safetensors file)"
        )
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except ImportError:
        raise CheckpointError("reading .safetensors needs the safetensors package: pip install safetensors") from None
    except Exception as exc:  # any parser error means the file is not a usable checkpoint
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Weights only load failed" in first:
            first = "not a torch file of plain tensors: torch.load(weights_only=True) refused it"
        raise CheckpointError(f"checkpoint {str(p)!r} could not be read ({first[:200]}); is it a state dict?") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {str(p)!r} does not hold a state dict of tensors")
    return state


def _fmt(keys: list[str], limit: int = 8) -> str:
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict strictly; any mismatch raises CheckpointError listing the keys."""
    return load_state_dict_strict(model, read_state_dict(path), f"checkpoint {str(path)!r}")


def state_problems(own: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> list[str]:
    """What keeps `state` from loading into a model whose state dict is `own`: missing/unexpected keys, shape
    mismatches, integer/bool tensors for floating parameters, NaN/Inf values. The one rule for registered models
    and user models (edgeattn/convert/checkpoint.py) alike."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in set(own) & set(state)
        if state[k].shape != own[k].shape
    )
    # load_state_dict would copy an int32/bool tensor into a float parameter without a word (an int32
    # safetensors file of weights in (-1, 1) becomes an all-zero model): refuse the dtype family mismatch.
    dtypes = sorted(
        f"{k} {str(state[k].dtype).removeprefix('torch.')} for a {str(own[k].dtype).removeprefix('torch.')} tensor"
        for k in set(own) & set(state)
        if own[k].is_floating_point() and not state[k].is_floating_point()
    )
    # NaN/Inf weights can only produce NaN/Inf outputs, which no reference may hold: refused here, as bad input.
    nonfinite = sorted(k for k, v in state.items()
                       if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all()))
    problems = []
    if dtypes:
        problems.append(f"integer/bool tensors for floating parameters: {_fmt(dtypes, 4)} (weights must be saved "
                        "as floating point, e.g. float32)")
    if nonfinite:
        problems.append(f"NaN/Inf values in {_fmt(nonfinite, 4)} (a model with them cannot produce a finite "
                        "reference; was training diverged or the file damaged?)")
    if missing:
        problems.append(f"missing keys: {_fmt(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_fmt(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {_fmt(shapes)}")
    return problems


def load_state_dict_strict(model: nn.Module, state: dict[str, torch.Tensor], what: str) -> nn.Module:
    """Load `state` strictly; any problem of `state_problems` raises CheckpointError naming the keys."""
    problems = state_problems(model.state_dict(), state)
    if problems:
        raise CheckpointError(
            f"{what} does not match the model: "
            + "; ".join(problems)
            + ". Was it saved from the same model name and options?"
        )
    model.load_state_dict(state, strict=True)
    return model
