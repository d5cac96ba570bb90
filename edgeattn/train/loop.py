"""The training loop: measure the task metric on held-out synthetic data, train, measure again, save.

Held-out data come from a different seed and stream than the training batches (`[eval_seed, 1]` vs
`[seed, 0]`, see `train/evaluate.py`), so no evaluation sample is ever trained on. The checkpoint is the model's
state dict (float16 with `fp16=True`), written atomically with `torch.save`, loadable by
`python -m edgeattn.export --checkpoint FILE` (torch.load(weights_only=True)); a JSON beside it records the
command, seed, steps, time taken and the held-out metrics of the stored weights (`train/publish.py`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._atomic import check_output_file
from .._resources import check_memory
from ..cli import check_range, check_threads
from ..errors import InvalidOptionError
from ..models import check_input_size, create_model, get_model_spec
from .config import SHARED_PREFIX, TrainConfig
from .evaluate import MAX_EVAL_SAMPLES, TASK_TARGETS, EvalResult, evaluate_batches, held_out_set
from .publish import stored_state_dict, write_weights
from .tasks import TASK_RECIPES, TaskRecipe

__all__ = ["TrainResult", "train", "validate"]

#: --edge-loss-weight: the default is 0.5; a weight 2000x that drowns the task loss (docs/limits.md)
MAX_EDGE_LOSS_WEIGHT = 1000.0

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
    held_out: EvalResult | None = None  # the stored weights on the held-out set, with the task target

    @property
    def improved(self) -> bool:
        b, a = self.before[self.metric], self.after[self.metric]
        return a > b if self.higher_is_better else a < b


def _check_writable(path: Path) -> None:
    """The checkpoint and its .json record beside it: regular files (or absent) in a writable folder."""
    if path.is_dir() and not path.is_symlink():
        raise InvalidOptionError(f"--output {str(path)!r} is a directory; pass a file name such as {path / 'model.pt'}")
    if path.suffix == ".json":
        raise InvalidOptionError(f"--output {str(path)!r}: the record is written beside the checkpoint as "
                                 f"{path.with_suffix('.json').name}, which would overwrite it; pass a .pt file name")
    hint = f"cannot write the checkpoint {str(path)!r}; pass --output FILE in a writable folder"
    check_output_file(path, "--output", hint)
    check_output_file(path.with_suffix(".json"), "--output's record", hint)


def validate(config: TrainConfig) -> tuple[TaskRecipe, tuple[int, int]]:
    """Check every option before any work starts; returns the task recipe and the training size."""
    spec = get_model_spec(config.model)
    if spec.task not in TASK_RECIPES:
        raise InvalidOptionError(f"no training recipe for task {spec.task!r} (model {spec.name}); recipes exist for: "
                                 f"{', '.join(sorted(TASK_RECIPES))}")
    recipe = TASK_RECIPES[spec.task]
    for name, value, least, most in (("--steps", config.steps, 1, 10_000_000), ("--batch", config.batch, 1, 4096),
                                     ("--eval-samples", config.eval_samples, 1, MAX_EVAL_SAMPLES)):
        if value < least:
            raise InvalidOptionError(f"{name} must be >= {least}, got {value}")
        if value > most:
            raise InvalidOptionError(f"{name} must be at most {most}, got {value}")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise InvalidOptionError(f"--lr must be a positive number, got {config.lr}")
    check_range(config.edge_loss_weight, "--edge-loss-weight", 0.0, MAX_EDGE_LOSS_WEIGHT,
                why=" (the edge loss's weight beside the task loss)")
    for flag, seed in (("--seed", config.seed), ("--eval-seed", config.eval_seed)):
        check_range(seed, flag, 0, 2**32 - 1, why=" (numpy and torch seeds)")
    check_threads(config.threads)  # 1..4 x the CPUs here (edgeattn/cli.py)
    if config.shared_backbone is not None:
        base = get_model_spec(config.shared_backbone)
        if spec.task != "segmentation" or base.task != "segmentation" or base.name == spec.name:
            raise InvalidOptionError(f"--shared-backbone takes another segmentation model (they share the MobileNetV2 "
                                     f"backbone); got {base.name} for {spec.name}")
        from ..models.pretrained import weights_info

        weights_info(base.name)  # its shipped weights must exist (else: one line naming those that do)
    if config.init_from is not None and not Path(config.init_from).is_file():
        raise InvalidOptionError(f"--init-from {str(config.init_from)!r} does not exist or is not a regular file")
    size = check_input_size(spec, config.size or recipe.default_size)
    check_memory("training", config.batch, size[0], size[1], sum(i.channels for i in spec.inputs),
                 "choose a smaller --size or --batch", spec.attention, spec.attention_stride)
    _check_writable(config.checkpoint_path())
    return recipe, size


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def _share_backbone(model: nn.Module, base: str) -> dict[str, str]:
    """Load `backbone.*` from `base`'s shipped weights into `model` and freeze it; returns the JSON reference."""
    from ..models.pretrained import pretrained_state_dict, weights_info

    borrowed = {k: v for k, v in pretrained_state_dict(base).items() if k.startswith(SHARED_PREFIX)}
    own = {k: v for k, v in model.state_dict().items() if k.startswith(SHARED_PREFIX)}
    if set(borrowed) != set(own) or any(borrowed[k].shape != own[k].shape for k in own):
        raise InvalidOptionError(f"the backbone of {base}'s weights does not fit this model (keys or shapes differ)")
    model.load_state_dict(borrowed, strict=False)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    return {"model": base, "prefix": SHARED_PREFIX, "sha256": weights_info(base).sha256}


def _init_from(model: nn.Module, path: Path) -> dict:
    """Load a checkpoint strictly as the starting point; returns its sha256 and the JSON record beside it."""
    import json

    from .._atomic import sha256_file
    from ..models.checkpoint import load_state_dict_strict, read_state_dict

    state = read_state_dict(path)
    load_state_dict_strict(model, {k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                           f"--init-from {str(path)!r}")
    side = Path(path).with_suffix(".json")
    return {"file": Path(path).name, "sha256": sha256_file(Path(path)),
            "record": json.loads(side.read_text()) if side.is_file() else None}


def train(config: TrainConfig, progress: Progress = _stderr) -> TrainResult:
    recipe, (h, w) = validate(config)
    out = config.checkpoint_path()
    prev_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    shared = None
    try:
        with torch.random.fork_rng():
            torch.manual_seed(config.seed)
            model = create_model(config.model, path="export", **config.model_kwargs)
            init = _init_from(model, config.init_from) if config.init_from is not None else None
            if config.shared_backbone:
                shared = _share_backbone(model, config.shared_backbone)
            held = held_out_set(recipe, model, (h, w), config.eval_samples, config.eval_seed)
            before = evaluate_batches(model, recipe, held)
            progress(f"{config.model} ({recipe.task}) at {h}x{w}, batch {config.batch}, {config.steps} steps")
            progress(f"before: {_fmt(before)}")
            start, cpu = time.perf_counter(), time.process_time()
            _fit(model, recipe, config, h, w, progress, frozen_backbone=shared is not None)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            stored = stored_state_dict(model.state_dict(), config.fp16, SHARED_PREFIX if shared else None)
            # Judge what is stored: load the (float16-rounded) tensors back before the held-out evaluation.
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in stored.items()},
                                  strict=shared is None)
            after = evaluate_batches(model, recipe, held)
            progress(f"after:  {_fmt(after)}  ({seconds:.0f} s)")
    finally:
        torch.set_num_threads(prev_threads)
    result = EvalResult(recipe.task, (h, w), config.eval_samples, config.eval_seed, after, TASK_TARGETS[recipe.task])
    record = {
        "model": config.model, "task": recipe.task, "command": config.command,
        "recipe": {"steps": config.steps, "batch": config.batch, "size": [h, w], "lr": config.lr,
                   "optimizer": "AdamW(weight_decay=1e-4), linear warm-up 5%, cosine decay, grad clip 5",
                   "edge_loss_weight": config.edge_loss_weight, "seed": config.seed,
                   "data": "on-the-fly edgeattn.data.synthetic, numpy default_rng([seed, 0])"},
        "train_time": {"wall_s": round(seconds, 1), "cpu_s": round(cpu, 1), "threads": torch.get_num_threads()
                       if not config.threads else config.threads},
        "shared_from": shared,
        "init_from": init,
        "before": {k: round(float(v), 5) for k, v in before.items()},
        "held_out": result.to_json(),
    }
    write_weights(out, stored, record)
    return TrainResult(out, recipe.metric, recipe.higher_is_better, before, after, seconds, result)


def _fit(model: nn.Module, recipe: TaskRecipe, config: TrainConfig, h: int, w: int, progress: Progress,
         frozen_backbone: bool = False) -> None:
    rng = np.random.default_rng([config.seed, 0])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-4)
    warmup = max(1, config.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine decay to 0
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / config.steps)))
    model.train()
    if frozen_backbone:
        model.backbone.eval()  # frozen: its BatchNorm statistics stay those of the model it came from
    for step in range(1, config.steps + 1):
        batch = recipe.make_batch(rng, config.batch, h, w, model)
        loss, parts = recipe.loss(model, batch, config.edge_loss_weight)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {step} (loss {loss.item()}); try a smaller --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        if step % config.log_every == 0 or step == config.steps:
            progress(f"  step {step}/{config.steps}  loss={loss.item():.4f}  " + _fmt(parts))
    model.eval()
