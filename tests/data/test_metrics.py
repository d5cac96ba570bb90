"""Metrics against values computed by hand on small examples."""

import math

import numpy as np
import pytest

from edgeattn.data.metrics import confusion_matrix, epe, mean_iou, pixel_accuracy, psnr, ssim


def test_miou_and_pixel_accuracy_by_hand():
    pred = np.array([[0, 0], [1, 1]])
    target = np.array([[0, 1], [1, 1]])
    # class 0: TP 1, FP 1, FN 0 -> 1/2; class 1: TP 2, FP 0, FN 1 -> 2/3; class 2 absent from both: left out
    assert mean_iou(pred, target, num_classes=3) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert pixel_accuracy(pred, target) == pytest.approx(3 / 4)
    assert confusion_matrix(pred, target, 2).tolist() == [[1, 0], [1, 2]]
    ignored = np.array([[0, 255], [1, 1]])  # the wrong pixel is ignored: perfect
    assert mean_iou(pred, ignored, 2) == 1.0 and pixel_accuracy(pred, ignored) == 1.0
    # a class predicted but absent from the target counts (IoU 0)
    assert mean_iou(np.array([2, 0]), np.array([0, 0]), 3) == pytest.approx((1 / 2 + 0) / 2)
    with pytest.raises(ValueError, match="labels must lie"):
        mean_iou(np.array([5]), np.array([0]), 3)


def test_psnr_by_hand():
    a = np.zeros(4)
    b = np.array([0.1, 0, 0, 0])
    # MSE = 0.01 / 4 = 0.0025 -> 10 log10(1 / 0.0025) = 10 log10(400)
    assert psnr(a, b) == pytest.approx(10 * math.log10(400))
    assert psnr(a, b, data_range=255.0) == pytest.approx(10 * math.log10(255.0**2 / 0.0025))
    assert psnr(b, b) == math.inf


def test_ssim_by_hand():
    c1, c2 = 0.01**2, 0.03**2
    # constant images: variances and covariance are 0, so SSIM = (2 m_x m_y + C1) / (m_x^2 + m_y^2 + C1)
    x, y = np.full((5, 5), 0.2), np.full((5, 5), 0.4)
    assert ssim(x, y, win_size=3) == pytest.approx((2 * 0.08 + c1) / (0.04 + 0.16 + c1))
    # one 3x3 uniform window over the whole image: x = k/10 (k = 0..8), y = 2x
    x = np.arange(9).reshape(3, 3) / 10
    mx, my = 0.4, 0.8
    vx = np.mean((np.arange(9) / 10) ** 2) - mx**2  # 204/900 - 0.16 = 0.0666...
    vy, cxy = 4 * vx, 2 * vx
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim(x, 2 * x, win_size=3, sigma=None) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    img = rng.random((3, 16, 16))
    assert ssim(img, img) == pytest.approx(1.0)
    noise = rng.normal(0, 1, img.shape)
    assert ssim(img, img + 0.3 * noise) < ssim(img, img + 0.1 * noise) < 0.99  # more noise, less similar
    with pytest.raises(ValueError, match="smaller than"):
        ssim(np.zeros((5, 5)), np.zeros((5, 5)))


def test_epe_by_hand():
    gt = np.zeros((2, 1, 2))
    pred = np.array([[[3.0, 0.0]], [[4.0, 0.0]]])  # (u, v) = (3, 4) at pixel 0, exact at pixel 1
    assert epe(pred, gt) == pytest.approx(2.5)  # (5 + 0) / 2
    assert epe(pred, gt, valid=np.array([[[1.0, 0.0]]])) == pytest.approx(5.0)
    assert epe(pred, gt, valid=np.array([[0.0, 1.0]])) == 0.0
    assert epe(pred[None], gt[None]) == pytest.approx(2.5)  # batched (B, 2, H, W)
    with pytest.raises(ValueError, match="2, H, W"):
        epe(np.zeros((3, 2, 2)), np.zeros((3, 2, 2)))
