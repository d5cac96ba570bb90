"""Fixtures of the precision tests: weights that have learned something, at small sizes.

`weights(model)` gives the export flags for the shipped trained weights (`--pretrained`, edgeattn/models/weights/,
trained at 64x64) when the model has them; otherwise a quick checkpoint trained here with the project's recipe
(`edgeattn.train`, 64x64, a few dozen steps), which is past random init but too weak for a quantization to lose
much: tests that need a real accuracy to lose ask for `pretrained_only=True` and skip without shipped weights.
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


@pytest.fixture(scope="session")
def weights(trained) -> callable:
    def flags(model: str, pretrained_only: bool = False) -> list[str]:
        from edgeattn.models.pretrained import pretrained_models

        if model in pretrained_models():
            return ["--pretrained"]
        if pretrained_only:
            pytest.skip(f"{model} has no shipped trained weights (edgeattn/models/weights/): train and publish them "
                        "with python -m edgeattn.train (README 'Trained weights') to enable this test")
        return ["--checkpoint", str(trained(model))]

    return flags
