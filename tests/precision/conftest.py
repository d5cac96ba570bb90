"""Fixtures of the precision tests: weights that have learned something, at small sizes.

Until the shipped trained weights land (issue 11 part 1, `create_model(..., pretrained=True)`), the tests train
their own quick checkpoints with the project's recipe (`edgeattn.train`, 64x64, a few dozen steps: well short of
the shipped models' accuracy, but past random init, so quantization error shows up in the task metric).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> callable:
    cache: dict[str, Path] = {}

    def get(model: str, steps: int = 60) -> Path:
        if model not in cache:
            from edgeattn.train.config import TrainConfig
            from edgeattn.train.loop import train

            out = tmp_path_factory.mktemp("weights") / f"{model}.pt"
            train(TrainConfig(model=model, steps=steps, batch=4, size=(64, 64), eval_samples=2, threads=2,
                              output=out), progress=lambda _msg: None)
            cache[model] = out
        return cache[model]

    return get
