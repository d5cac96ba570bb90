"""Typed training configuration; the CLI maps its flags onto these fields one to one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    model: str
    steps: int = 200
    batch: int = 4
    size: tuple[int, int] | None = None  # training/evaluation resolution; None: the task recipe's default
    lr: float = 1e-3
    edge_loss_weight: float = 0.5  # weight of LGA's contrastive edge loss (segmentation models with LGA)
    eval_samples: int = 16  # held-out synthetic samples for the before/after metric
    seed: int = 0
    output: Path | None = None  # checkpoint file; None: checkpoints/<model>.pt
    threads: int | None = None
    log_every: int = 25
    model_kwargs: dict = field(default_factory=dict)

    def checkpoint_path(self) -> Path:
        return Path(self.output) if self.output is not None else Path("checkpoints") / f"{self.model}.pt"
