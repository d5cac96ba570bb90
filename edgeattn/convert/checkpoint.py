"""User checkpoints: plain state dicts, `{"state_dict": ...}`/`{"model": ...}`, and mmsegmentation's files.

mmseg/mmengine checkpoints are `{"meta": ..., "state_dict": ..., "optimizer": ..., "message_hub": ...}` with keys
under `backbone.` / `decode_head.` / `auxiliary_head.`. They are read with `torch.load(weights_only=True)` and
without importing mmcv, mmengine or mmseg: the classes of other libraries that the file names (mmengine's
MessageHub, numpy scalars in `meta`, ...) are listed with torch's `get_unsafe_globals_in_checkpoint` and
allow-listed as inert placeholders (a class that accepts any state and runs no code of that library), so
only the tensors of `state_dict` are used. A torch class outside torch's allow-list is refused as before.

Loading is strict, with the registered models' rules (`models.checkpoint.state_problems`: keys, shapes, no
integer/bool tensors for floating parameters, no NaN/Inf). Two documented adjustments, both reported: a `module.`
prefix on every key (DataParallel) is removed; `auxiliary_head.*` tensors (mmseg's training-only head) are dropped
when the model has no `auxiliary_head`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from ..models.checkpoint import state_problems

__all__ = ["read_user_state_dict", "load_user_checkpoint"]


class _Placeholder:
    """Stands in for a foreign class named in a checkpoint: accepts any arguments or state, does nothing."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: object) -> None:
        self.state = state


def _placeholders(path: Path) -> list[type]:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:  # noqa: BLE001 - not a zip checkpoint: torch.load reports it below
        return []
    out = []
    for full in names:
        module, _, qualname = full.rpartition(".")
        if not module or module == "torch" or module.startswith("torch."):
            continue  # torch's own non-allow-listed globals stay refused
        out.append(type(qualname.rsplit(".", 1)[-1], (_Placeholder,), {"__module__": module,
                                                                        "__qualname__": qualname}))
    return out


def read_user_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(state dict, notes) from a user checkpoint; CheckpointError when it is unreadable or holds no tensors."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist or is not a regular file (pass the path of a "
                              ".pt/.pth/.safetensors file)")
    notes: list[str] = []
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(p))
        else:
            stand_ins = _placeholders(p)
            if stand_ins:
                notes.append("objects of other libraries in the file were skipped: "
                             + ", ".join(sorted(f"{c.__module__}.{c.__qualname__}" for c in stand_ins)))
            with torch.serialization.safe_globals(stand_ins):
                obj = torch.load(p, map_location="cpu", weights_only=True)
    except ImportError:
        raise CheckpointError("reading .safetensors needs the safetensors package: pip install safetensors") from None
    except Exception as exc:  # noqa: BLE001 - any parser error means an unusable file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"checkpoint {str(p)!r} could not be read with torch.load(weights_only=True) "
                              f"({first})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            notes.append(f"weights taken from the checkpoint's {key!r} entry")
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"checkpoint {str(p)!r} holds no state dict of tensors (looked at the top level, "
                              "'state_dict' and 'model')")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
        notes.append("removed the 'module.' prefix (DataParallel) from every key")
    return obj, notes


def load_user_checkpoint(model: nn.Module, path: str | Path) -> list[str]:
    """Load strictly into `model`; returns notes on what was adjusted. Mismatch: CheckpointError, one line."""
    state, notes = read_user_state_dict(path)
    own = model.state_dict()
    aux = [k for k in state if k.startswith("auxiliary_head.")]
    if aux and not any(k.startswith("auxiliary_head.") for k in own):
        state = {k: v for k, v in state.items() if not k.startswith("auxiliary_head.")}
        notes.append(f"dropped {len(aux)} auxiliary_head.* tensors (mmseg's training-only head; the model has none)")
    problems = state_problems(own, state)  # exactly the rules of registered models (models/checkpoint.py)
    if problems:
        raise CheckpointError(f"checkpoint {str(path)!r} does not match the model: {'; '.join(problems)}. Does "
                              "the factory build the network the checkpoint was trained with?")
    model.load_state_dict(state, strict=True)
    return notes
