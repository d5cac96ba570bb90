"""Task metrics: mIoU and pixel accuracy (segmentation), PSNR and SSIM (dehazing), end-point error (flow).

All take numpy arrays and return Python floats. They serve training reports (prediction vs ground truth)
and task-level parity (a runtime's output vs PyTorch's output).
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "mean_iou", "pixel_accuracy", "psnr", "ssim", "epe"]


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(K, K) int64 counts, rows = target class, columns = predicted class; `ignore_index` pixels skipped.

    pred, target: integer label maps of the same shape (any rank).
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {pred.shape} != target shape {target.shape}")
    keep = target != ignore_index
    t = target[keep].astype(np.int64)
    p = pred[keep].astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}) (or equal ignore_index={ignore_index})")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def mean_iou(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int = 255) -> float:
    """Mean over classes of TP / (TP + FP + FN), counting only classes present in target or prediction.

    Classes absent from both have no defined IoU and are left out (as in the Cityscapes/VOC protocol,
    where they would be 0/0). Returns NaN when no pixel is labelled.
    """
    cm = confusion_matrix(pred, target, num_classes, ignore_index)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    present = union > 0
    return float(np.mean(tp[present] / union[present])) if present.any() else float("nan")


def pixel_accuracy(pred: np.ndarray, target: np.ndarray, ignore_index: int = 255) -> float:
    """Fraction of labelled pixels (target != ignore_index) where pred == target."""
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {pred.shape} != target shape {target.shape}")
    keep = target != ignore_index
    return float(np.mean(pred[keep] == target[keep])) if keep.any() else float("nan")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio 10 log10(R^2 / MSE) in dB over all elements; inf when a == b."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def _window(size: int, sigma: float | None) -> np.ndarray:
    if sigma is None:
        w = np.ones(size)
    else:
        r = np.arange(size) - (size - 1) / 2
        w = np.exp(-(r**2) / (2 * sigma**2))
    return w / w.sum()


def _filter2(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Separable 'valid' weighted mean over the last two axes: (..., H, W) -> (..., H-k+1, W-k+1)."""
    k = len(w)
    rows = sum(w[i] * x[..., i : x.shape[-2] - k + 1 + i, :] for i in range(k))
    return sum(w[j] * rows[..., :, j : x.shape[-1] - k + 1 + j] for j in range(k))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, win_size: int = 11,
         sigma: float | None = 1.5) -> float:
    """Mean structural similarity (Wang et al., IEEE TIP 13(4), 2004, Eq. 13), per channel, averaged.

    a, b: (..., H, W) with H, W >= win_size (e.g. (C, H, W) or (B, C, H, W)). Local statistics are
    weighted means over a Gaussian window (sigma 1.5, 11 x 11, as in the paper; sigma=None: uniform window)
    at every position where the window fits ('valid'); C1 = (0.01 R)^2, C2 = (0.03 R)^2. Variances are the
    window-weighted population variances.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"images of {a.shape[-2]}x{a.shape[-1]} are smaller than the {win_size}x{win_size} window")
    x, y = a.astype(np.float64), b.astype(np.float64)
    w = _window(win_size, sigma)
    mx, my = _filter2(x, w), _filter2(y, w)
    vx = _filter2(x * x, w) - mx * mx
    vy = _filter2(y * y, w) - my * my
    cxy = _filter2(x * y, w) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def epe(flow: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Average end-point error: mean over pixels of ||flow - target||_2, in pixels.

    flow, target: (..., 2, H, W) with (u, v) on axis -3. valid: optional (..., 1, H, W) or (..., H, W)
    mask; only pixels where it is nonzero count (e.g. non-occluded ones).
    """
    if flow.shape != target.shape or flow.ndim < 3 or flow.shape[-3] != 2:
        raise ValueError(f"flow {flow.shape} and target {target.shape} must both be (..., 2, H, W)")
    err = np.sqrt(np.sum((flow.astype(np.float64) - target.astype(np.float64)) ** 2, axis=-3))  # (..., H, W)
    if valid is None:
        return float(err.mean())
    mask = np.broadcast_to(valid.reshape(err.shape) if valid.size == err.size else valid, err.shape) != 0
    return float(err[mask].mean()) if mask.any() else float("nan")
