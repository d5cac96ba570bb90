"""Deterministic inputs for export references and parity checks, one array per model input (`data.synthetic`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .synthetic import make_input_batch

if TYPE_CHECKING:  # pragma: no cover
    from ..models import ModelSpec

__all__ = ["make_inputs"]


def make_inputs(spec: ModelSpec, batch: int, height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for every input of `spec`, by ONNX input name: (batch, C, H, W) float32."""
    rng = np.random.default_rng(seed)
    arrays = make_input_batch(rng, [(i.channels, i.kind) for i in spec.inputs], batch, height, width)
    return {inp.name: arr for inp, arr in zip(spec.inputs, arrays)}
