"""Deterministic inputs for parity checks, one array per model input (see `edgeattn.data.synthetic`)."""

from __future__ import annotations

import numpy as np

from ..data.synthetic import make_image, make_mask
from ..models import ModelSpec

__all__ = ["make_inputs"]


def make_inputs(spec: ModelSpec, batch: int, height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for every input of `spec`, by ONNX input name: (batch, C, H, W) float32."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for inp in spec.inputs:
        if inp.kind == "mask":
            arr = np.stack([make_mask(rng, height, width) for _ in range(batch)])
        else:
            arr = np.stack([make_image(rng, height, width, inp.channels) for _ in range(batch)])
        feeds[inp.name] = np.ascontiguousarray(arr, dtype=np.float32)
    return feeds
