"""The training loop: measure the task metric on held-out synthetic data, train, measure again, save.

Held-out data come from a different seed stream than the training batches (`[seed, 1]` vs `[seed, 0]`), so
no evaluation sample is ever trained on. The checkpoint is the model's state dict, written atomically with
`torch.save`, loadable by `python -m edgeattn.export --checkpoint FILE` (torch.load(weights_only=True)).
"""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._atomic import atomic_write_bytes, check_writable_dir
from ..errors import InvalidOptionError
from ..models import check_input_size, create_model, get_model_spec
from .config import TrainConfig
from .tasks import TASK_RECIPES, Batch, TaskRecipe

__all__ = ["TrainResult", "train", "validate"]

Progress = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    checkpoint: Path
    metric: str
    higher_is_better: bool
    before: dict[str, float]
    after: dict[str, float]
    seconds: float

    @property
    def improved(self) -> bool:
        b, a = self.before[self.metric], self.after[self.metric]
        return a > b if self.higher_is_better else a < b


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise InvalidOptionError(f"--output {str(path)!r} is a directory; pass a file name such as {path / 'model.pt'}")
    hint = f"cannot write the checkpoint {str(path)!r}; pass --output FILE in a writable folder"
    check_writable_dir(path.parent, hint=hint)


def validate(config: TrainConfig) -> tuple[TaskRecipe, tuple[int, int]]:
    """Check every option before any work starts; returns the task recipe and the training size."""
    spec = get_model_spec(config.model)
    if spec.task not in TASK_RECIPES:
        raise InvalidOptionError(f"no training recipe for task {spec.task!r} (model {spec.name}); recipes exist for: "
                                 f"{', '.join(sorted(TASK_RECIPES))}")
    recipe = TASK_RECIPES[spec.task]
    for name, value, least in (("--steps", config.steps, 1), ("--batch", config.batch, 1),
                               ("--eval-samples", config.eval_samples, 1)):
        if value < least:
            raise InvalidOptionError(f"{name} must be >= {least}, got {value}")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise InvalidOptionError(f"--lr must be a positive number, got {config.lr}")
    if config.edge_loss_weight < 0:
        raise InvalidOptionError(f"--edge-loss-weight must be >= 0, got {config.edge_loss_weight}")
    if config.threads is not None and config.threads < 1:
        raise InvalidOptionError(f"--threads must be >= 1, got {config.threads}")
    size = check_input_size(spec, config.size or recipe.default_size)
    _check_writable(config.checkpoint_path())
    return recipe, size


@torch.no_grad()
def _evaluate(model: nn.Module, recipe: TaskRecipe, data: list[Batch]) -> dict[str, float]:
    model.eval()
    merged = {k: torch.cat([b[k] for b in data]) for k in data[0]}  # metrics over the whole held-out set
    return recipe.evaluate(model, merged)


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def train(config: TrainConfig, progress: Progress = _stderr) -> TrainResult:
    recipe, (h, w) = validate(config)
    out = config.checkpoint_path()
    prev_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(config.seed)
            model = create_model(config.model, path="export", **config.model_kwargs)
            held_rng = np.random.default_rng([config.seed, 1])
            held = [recipe.make_batch(held_rng, 1, h, w, model) for _ in range(config.eval_samples)]
            before = _evaluate(model, recipe, held)
            progress(f"{config.model} ({recipe.task}) at {h}x{w}, batch {config.batch}, {config.steps} steps")
            progress(f"before: {_fmt(before)}")
            start = time.perf_counter()
            _fit(model, recipe, config, h, w, progress)
            seconds = time.perf_counter() - start
            after = _evaluate(model, recipe, held)
            progress(f"after:  {_fmt(after)}  ({seconds:.0f} s)")
    finally:
        torch.set_num_threads(prev_threads)
    buf = io.BytesIO()
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, buf)
    atomic_write_bytes(out, buf.getvalue())
    return TrainResult(out, recipe.metric, recipe.higher_is_better, before, after, seconds)


def _fit(model: nn.Module, recipe: TaskRecipe, config: TrainConfig, h: int, w: int, progress: Progress) -> None:
    rng = np.random.default_rng([config.seed, 0])
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    warmup = max(1, config.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine decay to 0
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / config.steps)))
    model.train()
    for step in range(1, config.steps + 1):
        batch = recipe.make_batch(rng, config.batch, h, w, model)
        loss, parts = recipe.loss(model, batch, config.edge_loss_weight)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {step} (loss {loss.item()}); try a smaller --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        if step % config.log_every == 0 or step == config.steps:
            progress(f"  step {step}/{config.steps}  loss={loss.item():.4f}  " + _fmt(parts))
