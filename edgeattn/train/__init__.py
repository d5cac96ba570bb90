"""Small, CPU-friendly training on the synthetic task data: `python -m edgeattn.train --model NAME --steps N`."""

from .config import TrainConfig
from .loop import TrainResult, train
from .tasks import TASK_RECIPES, TaskRecipe

__all__ = ["TrainConfig", "TrainResult", "train", "TASK_RECIPES", "TaskRecipe"]
