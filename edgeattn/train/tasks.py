"""Per-task training recipes: synthetic batches, the loss, and the task metric on held-out samples.

- segmentation: `make_segmentation_scene`; cross-entropy, plus LGA's contrastive edge loss
  (`lga_edge_loss`, Singh et al. 2023) on the edge logits of every graph layer where the model has LGA;
  metric mIoU (and pixel accuracy).
- dehazing: `make_hazy_pair`; L1 between the output and the clean image; metric PSNR (and SSIM, and the
  PSNR of the hazy input itself, the reference of the dehazing target).
- flow: `make_flow_pair`; mean end-point error over all pixels (occluded ones included, as in FlyingChairs
  training); metric EPE (and EPE on non-occluded pixels, and the EPE of zero flow, the reference of the target).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.metrics import epe, mean_iou, pixel_accuracy, psnr, ssim
from ..data.synthetic import make_flow_pair, make_hazy_pair, make_segmentation_scene
from ..nn import lga_edge_loss

__all__ = ["TaskRecipe", "TASK_RECIPES", "Batch"]

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TaskRecipe:
    task: str
    default_size: tuple[int, int]  # small: 200 steps take a few minutes on 2 CPU cores
    metric: str  # the headline metric printed before/after
    higher_is_better: bool
    make_batch: Callable[[np.random.Generator, int, int, int, nn.Module], Batch]
    loss: Callable[[nn.Module, Batch, float], tuple[torch.Tensor, dict[str, float]]]
    evaluate: Callable[[nn.Module, Batch], dict[str, float]]


def _stack(arrs: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrs)))


# -- segmentation ---------------------------------------------------------------------------------------------


def _num_classes(model: nn.Module) -> int:
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Conv2d):
        return classifier.out_channels
    with torch.no_grad():  # fall back to probing the output
        return int(model(torch.zeros(1, 3, 32, 32)).shape[1])


def _seg_batch(rng: np.random.Generator, n: int, h: int, w: int, model: nn.Module) -> Batch:
    scenes = [make_segmentation_scene(rng, h, w, _num_classes(model)) for _ in range(n)]
    return {"image": _stack([s[0] for s in scenes]), "labels": _stack([s[1] for s in scenes])}


def _seg_loss(model: nn.Module, batch: Batch, edge_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    fwd = getattr(model, "forward_with_edges", None)
    logits, edges = fwd(batch["image"]) if fwd is not None else (model(batch["image"]), [])
    ce = F.cross_entropy(logits, batch["labels"])
    if not edges or edge_weight == 0:
        return ce, {"ce": ce.item()}
    edge = lga_edge_loss(edges, batch["labels"])
    return ce + edge_weight * edge, {"ce": ce.item(), "edge": edge.item()}


def _seg_eval(model: nn.Module, batch: Batch) -> dict[str, float]:
    logits = model(batch["image"])
    pred, labels = logits.argmax(1).numpy(), batch["labels"].numpy()
    return {"mIoU": mean_iou(pred, labels, logits.shape[1]), "pixel_acc": pixel_accuracy(pred, labels)}


# -- dehazing -------------------------------------------------------------------------------------------------


def _haze_batch(rng: np.random.Generator, n: int, h: int, w: int, model: nn.Module) -> Batch:
    pairs = [make_hazy_pair(rng, h, w) for _ in range(n)]
    return {"hazy": _stack([p.hazy for p in pairs]), "clean": _stack([p.clean for p in pairs])}


def _haze_loss(model: nn.Module, batch: Batch, edge_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    loss = F.l1_loss(model(batch["hazy"]), batch["clean"])
    return loss, {"l1": loss.item()}


def _haze_eval(model: nn.Module, batch: Batch) -> dict[str, float]:
    pred = model(batch["hazy"]).clamp(0, 1).numpy()  # a deployed dehazer's output is clipped to the image range
    clean, hazy = batch["clean"].numpy(), batch["hazy"].numpy()
    # PSNR_input: the hazy input itself as the answer, the reference the dehazing target is measured against.
    return {"PSNR": psnr(pred, clean), "SSIM": ssim(pred, clean),  # models take H, W >= 32 > the 11x11 window
            "PSNR_input": psnr(hazy, clean)}


# -- optical flow ---------------------------------------------------------------------------------------------


def _flow_batch(rng: np.random.Generator, n: int, h: int, w: int, model: nn.Module) -> Batch:
    # About half the pairs are occlusion-free; drawn per pair so that batches of 1 (the held-out set) mix both.
    pairs = [make_flow_pair(rng, h, w, occlusion=bool(rng.random() < 0.5)) for _ in range(n)]
    return {"frame1": _stack([p.frame1 for p in pairs]), "frame2": _stack([p.frame2 for p in pairs]),
            "flow": _stack([p.flow for p in pairs]), "valid": _stack([p.valid for p in pairs])}


def _flow_loss(model: nn.Module, batch: Batch, edge_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    pred = model(batch["frame1"], batch["frame2"])
    loss = torch.linalg.vector_norm(pred - batch["flow"], dim=1).mean()  # EPE, (B, H, W) -> scalar
    return loss, {"epe": loss.item()}


def _flow_eval(model: nn.Module, batch: Batch) -> dict[str, float]:
    pred = model(batch["frame1"], batch["frame2"]).numpy()
    gt, valid = batch["flow"].numpy(), batch["valid"].numpy()
    # EPE_zero: predicting no motion, the reference the flow target is measured against (= mean |flow|).
    return {"EPE": epe(pred, gt), "EPE_noc": epe(pred, gt, valid), "EPE_zero": epe(np.zeros_like(gt), gt)}


TASK_RECIPES: dict[str, TaskRecipe] = {
    "segmentation": TaskRecipe("segmentation", (96, 96), "mIoU", True, _seg_batch, _seg_loss, _seg_eval),
    "dehazing": TaskRecipe("dehazing", (96, 128), "PSNR", True, _haze_batch, _haze_loss, _haze_eval),
    "flow": TaskRecipe("flow", (96, 128), "EPE", False, _flow_batch, _flow_loss, _flow_eval),
}
