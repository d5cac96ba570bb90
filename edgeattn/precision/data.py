"""Calibration and held-out data for the precision step, from the training generators of `edgeattn.data`.

The same generators that trained the models (`edgeattn.train.tasks`) draw the data; the seed streams differ:
training uses `[seed, 0]`; the held-out set is `[HELD_OUT_SEED, 1]`, the very samples `python -m edgeattn.train
--eval` reports the trained weights' metric on (edgeattn/train/evaluate.py, HELD_OUT_SEED = 1000); calibration
`[seed, 2]` and selection `[seed, 3]` (precision/int8.py). No calibration or selection image is an evaluation image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.synthetic import make_flow_pair, make_hazy_pair, make_segmentation_scene
from ..errors import InvalidOptionError

__all__ = ["TaskSample", "task_samples", "calibration_feeds", "CALIBRATION_STREAM", "HELD_OUT_STREAM", "HELD_OUT_SEED"]

HELD_OUT_SEED = 1000  # = edgeattn.train.evaluate.HELD_OUT_SEED (tests/precision check they agree)
HELD_OUT_STREAM = 1
CALIBRATION_STREAM = 2


@dataclass(frozen=True)
class TaskSample:
    feeds: dict[str, np.ndarray]  # input name -> (1, C, H, W) float32
    target: dict[str, np.ndarray]  # labels (1, H, W) | clean (1, 3, H, W) | flow (1, 2, H, W) + valid


def _one(task: str, rng: np.random.Generator, names: list[str], h: int, w: int, num_classes: int) -> TaskSample:
    if task == "segmentation":
        img, labels = make_segmentation_scene(rng, h, w, num_classes)
        return TaskSample({names[0]: img[None]}, {"labels": labels[None]})
    if task == "dehazing":
        pair = make_hazy_pair(rng, h, w)
        return TaskSample({names[0]: pair.hazy[None]}, {"clean": pair.clean[None]})
    if task == "flow":
        # As in training: about half the pairs are occlusion-free, drawn per pair.
        pair = make_flow_pair(rng, h, w, occlusion=bool(rng.random() < 0.5))
        return TaskSample({names[0]: pair.frame1[None], names[1]: pair.frame2[None]},
                          {"flow": pair.flow[None], "valid": pair.valid[None]})
    raise InvalidOptionError(f"no task data for task {task!r}: int8/fp16 accuracy is judged for segmentation, "
                             "dehazing and flow models")


def task_samples(task: str, input_names: list[str], size: tuple[int, int], n: int, *, seed: int = 0,
                 stream: int = HELD_OUT_STREAM, num_classes: int = 19) -> list[TaskSample]:
    """`n` samples of `task` at `size` (H, W) from seed stream `[seed, stream]` (held-out: `[HELD_OUT_SEED, 1]`)."""
    rng = np.random.default_rng([HELD_OUT_SEED if stream == HELD_OUT_STREAM else seed, stream])
    return [_one(task, rng, input_names, *size, num_classes) for _ in range(n)]


def calibration_feeds(task: str, input_names: list[str], size: tuple[int, int], n: int, *, seed: int = 0,
                      num_classes: int = 19) -> list[dict[str, np.ndarray]]:
    """Model inputs only, from the calibration stream."""
    samples = task_samples(task, input_names, size, n, seed=seed, stream=CALIBRATION_STREAM, num_classes=num_classes)
    return [s.feeds for s in samples]
