"""The two computation paths every attention layer owns.

`reference` follows the paper / reference code and is written for clarity (unfold, einsum,
data-dependent indexing are fine). `export` computes the same function from export-friendly
ops (Conv, MatMul, Softmax, Pad/Slice, Reshape/Transpose of rank <= 4). Both read the same
parameters, so one state dict serves both. The path is chosen explicitly: at construction
(`path=`) or afterwards with `set_path(model, ...)`, never by patching code from outside.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import unknown

__all__ = ["Path", "PATHS", "DualPathModule", "set_path", "check_path"]

Path = Literal["reference", "export"]
PATHS: tuple[str, ...] = ("reference", "export")


def check_path(path: str) -> str:
    if path not in PATHS:
        raise unknown("computation path", path, PATHS)
    return path


class DualPathModule(nn.Module):
    """Base for layers with a reference and an export path; subclasses implement both."""

    def __init__(self, path: Path = "export") -> None:
        super().__init__()
        self.path = check_path(path)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:  # noqa: D401 - dispatch only
        if self.path == "reference":
            return self.forward_reference(*args)
        return self.forward_export(*args)

    def forward_reference(self, *args: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_export(self, *args: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"path={self.path}"


def set_path(module: nn.Module, path: Path) -> nn.Module:
    """Select `path` on every dual-path layer inside `module`; returns `module`."""
    check_path(path)
    for m in module.modules():
        if isinstance(m, DualPathModule):
            m.path = path
    return module
