"""PyTorch eager: the reference every other runtime is compared against.

Unlike the other runtimes it wraps a module, not an artefact file: `TorchRuntime.from_module(model, names)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["TorchRuntime"]


class TorchRuntime:
    name = "torch"

    def __init__(self, model: nn.Module, input_names: Sequence[str], threads: int | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.model = model.eval()
        self._names = list(input_names)
        self.threads = threads
        self.dtype = dtype  # float64 runs the model in double: the "exact" result for the fp32 floor

    @property
    def input_names(self) -> list[str]:
        return list(self._names)

    @torch.inference_mode()
    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        prev = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            args = [torch.from_numpy(np.ascontiguousarray(feeds[n])).to(self.dtype) for n in self._names]
            out = self.model(*args)
            return out.numpy() if self.dtype == torch.float64 else out.float().numpy()
        finally:
            torch.set_num_threads(prev)

    def close(self) -> None:
        pass
