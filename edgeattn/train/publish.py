"""Write trained weights in the shipped format: `<name>.pt` (optionally float16) and `<name>.json` beside it.

The JSON records everything needed to reproduce and judge the file: the training command, seed, steps, size,
batch, learning rate, wall and CPU time, library versions, the storage precision, the file's sha256, keys
borrowed from another model's file (`shared_from`), and the held-out metrics OF THE STORED WEIGHTS (evaluated
after the float16 rounding). `edgeattn.models.pretrained` reads the same format.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._atomic import atomic_write_bytes

__all__ = ["stored_state_dict", "write_weights"]


def stored_state_dict(state: dict[str, torch.Tensor], fp16: bool, exclude_prefix: str | None = None
                      ) -> dict[str, torch.Tensor]:
    """The tensors as they will be stored: float16 when asked (floating tensors only), without borrowed keys."""
    out = {}
    for k, v in state.items():
        if exclude_prefix and k.startswith(exclude_prefix):
            continue
        v = v.detach().clone().contiguous()
        out[k] = v.half() if fp16 and v.is_floating_point() else v
    if fp16:  # float16 overflows at 65504: a weight beyond it would be stored as inf
        bad = [k for k, v in out.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise FloatingPointError(f"float16 storage overflows for {bad[:4]}; store float32 (drop --fp16)")
    return out


def write_weights(path: Path, state: dict[str, torch.Tensor], record: dict[str, Any]) -> dict[str, Any]:
    """Write `state` to `path` (torch.save) and the JSON record to `path.with_suffix('.json')`, atomically.

    Returns the record as written, with `file`, `sha256`, `bytes` and the environment filled in.
    """
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    floats = {str(v.dtype).removeprefix("torch.") for v in state.values() if v.is_floating_point()}
    full = {
        **record,
        "file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "storage": "float16" if floats == {"float16"} else "float32",
        "loaded_as": "float32",
        "environment": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
    }
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(full, indent=2) + "\n").encode())
    return full
