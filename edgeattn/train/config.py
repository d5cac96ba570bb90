"""Typed training configuration; the CLI maps its flags onto these fields one to one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TrainConfig", "SHARED_PREFIX"]

# What --shared-backbone borrows (and freezes): the MobileNetV2 of the segmentation models.
SHARED_PREFIX = "backbone."


@dataclass(frozen=True)
class TrainConfig:
    model: str
    steps: int = 200
    batch: int = 4
    size: tuple[int, int] | None = None  # training/evaluation resolution; None: the task recipe's default
    lr: float = 1e-3
    edge_loss_weight: float = 0.5  # weight of LGA's contrastive edge loss (segmentation models with LGA)
    eval_samples: int = 16  # held-out synthetic samples for the before/after metric
    eval_seed: int = 1000  # seed of the held-out set (training draws from `seed`); see train/evaluate.py
    seed: int = 0
    output: Path | None = None  # checkpoint file; None: checkpoints/<model>.pt
    threads: int | None = None
    fp16: bool = False  # store floating tensors as float16 (the metrics are those of the stored weights)
    shared_backbone: str | None = None  # start `backbone.*` from this model's shipped weights, frozen, not stored
    init_from: Path | None = None  # start from this checkpoint's weights (fine-tuning); recorded with its JSON
    command: str = ""  # the command line, recorded in the JSON beside the checkpoint
    log_every: int = 25
    model_kwargs: dict = field(default_factory=dict)

    def checkpoint_path(self) -> Path:
        return Path(self.output) if self.output is not None else Path("checkpoints") / f"{self.model}.pt"
