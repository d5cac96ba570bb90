"""Trained weights shipped with the package (`edgeattn/models/weights/`), loaded by `create_model(pretrained=True)`.

Each model with weights has two files in `weights/`:

- `<model>.pt`: its state dict, floating tensors stored as float16 (half the bytes; loaded back as float32),
  written with `torch.save` and read with `torch.load(weights_only=True)`;
- `<model>.json`: how it was made (the training command, seed, steps, size, time taken), the file's sha256,
  and its metrics on held-out synthetic data (`WeightsInfo`).

A model may share a prefix of its state dict with another model's file (`shared_from`, e.g. every
segmentation baseline shares the MobileNetV2 backbone trained with `lga_mobilenet`, frozen while the baseline's
head was trained): its own file then holds only the other keys, and the JSON records the sha256 of the file it
borrows from, so a retrained base is noticed instead of silently mixing weights from two runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._atomic import sha256_file
from ..errors import CheckpointError

__all__ = ["WEIGHTS_DIR", "WeightsInfo", "pretrained_models", "weights_info", "pretrained_state_dict",
           "load_pretrained"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class WeightsInfo:
    """The JSON beside a weight file (only the fields the loader needs are typed; `raw` keeps all of it)."""

    model: str
    file: str  # the .pt file name inside WEIGHTS_DIR
    sha256: str
    storage: str  # "float16" (floating tensors stored as fp16, loaded as fp32) or "float32"
    shared_from: dict[str, Any] | None  # {"model", "prefix", "sha256"} or None
    raw: dict[str, Any]


def pretrained_models() -> list[str]:
    """Names of the models that have shipped weights (a JSON and its weight file), sorted."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json") if (WEIGHTS_DIR / f"{p.stem}.pt").is_file())


def _no_weights(name: str) -> CheckpointError:
    have = ", ".join(pretrained_models()) or "none"
    return CheckpointError(f"no trained weights for model {name!r}; models with weights: {have} "
                           f"(or train it: python -m edgeattn.train --model {name})")


def weights_info(name: str) -> WeightsInfo:
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.is_file() or not (WEIGHTS_DIR / f"{name}.pt").is_file():
        raise _no_weights(name)
    try:
        raw = json.loads(path.read_text())
        return WeightsInfo(model=raw["model"], file=raw["file"], sha256=raw["sha256"], storage=raw["storage"],
                           shared_from=raw.get("shared_from"), raw=raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"weights metadata {str(path)!r} is unreadable ({type(exc).__name__}: {exc}); "
                              "reinstall edgeattn or re-run the training command it came from") from None


def _read(info: WeightsInfo) -> dict[str, torch.Tensor]:
    path = WEIGHTS_DIR / info.file
    if sha256_file(path) != info.sha256:
        raise CheckpointError(f"weights {str(path)!r} do not match the sha256 recorded in {info.model}.json; "
                              "the file was changed or truncated: reinstall edgeattn or re-run its training command")
    state = torch.load(path, map_location="cpu", weights_only=True)
    # fp16 storage -> fp32 model: every floating tensor goes back to float32 (integers such as BN counters stay).
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def pretrained_state_dict(name: str) -> dict[str, torch.Tensor]:
    """The full float32 state dict of `name`'s shipped weights, including keys it shares with another model."""
    info = weights_info(name)
    state = _read(info)
    shared = info.shared_from
    if shared:
        base = weights_info(shared["model"])
        if base.sha256 != shared["sha256"]:
            raise CheckpointError(
                f"the weights of {name} were trained on {shared['model']}'s {shared['prefix']!r} weights with sha256 "
                f"{shared['sha256'][:12]}..., but {shared['model']}.pt now has {base.sha256[:12]}...; retrain {name} "
                "with the command in its JSON")
        borrowed = {k: v for k, v in _read(base).items() if k.startswith(shared["prefix"])}
        overlap = sorted(set(borrowed) & set(state))
        if overlap:
            raise CheckpointError(f"the weights of {name} hold keys it also borrows from {shared['model']}: "
                                  f"{overlap[:4]}")
        state = {**borrowed, **state}
    return state


def load_pretrained(model: nn.Module, name: str) -> nn.Module:
    """Load `name`'s shipped weights into `model` strictly (same keys and shapes, else CheckpointError)."""
    from .checkpoint import load_state_dict_strict

    return load_state_dict_strict(model, pretrained_state_dict(name), f"shipped weights of {name}")
