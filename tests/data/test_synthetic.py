"""The synthetic task data: deterministic, and physically what each docstring says it is."""

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgeattn.data.synthetic import (FLOW_TEXTURE_CONTRAST, make_flow_pair, make_hazy_pair, make_image,
                                     make_input_batch, make_mask, make_segmentation_scene)


def test_make_image_and_make_mask_are_unchanged():
    # Pinned from the foundation commit's implementation: parity inputs, BN calibration and the byte-identical
    # export test depend on these exact draws.
    rng = np.random.default_rng(7)
    data = make_image(rng, 9, 13).tobytes() + make_mask(rng, 9, 13).tobytes() + make_image(rng, 5, 6, 4).tobytes()
    assert hashlib.sha256(data).hexdigest() == "3bdb338e61ac85a21ad89bbbe453091fdb86b4802348a78f5b7d503699334612"


@pytest.mark.parametrize("make", [
    lambda rng: make_hazy_pair(rng, 24, 32).hazy,
    lambda rng: make_flow_pair(rng, 24, 32).flow,
    lambda rng: make_segmentation_scene(rng, 24, 32)[1],
])
def test_generators_are_deterministic_per_seed(make):
    a, b, c = make(np.random.default_rng(3)), make(np.random.default_rng(3)), make(np.random.default_rng(4))
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()


def test_hazy_pair_follows_the_scattering_model():
    betas = []
    for seed in range(4):
        p = make_hazy_pair(np.random.default_rng(seed), 40, 56)
        assert p.hazy.shape == p.clean.shape == (3, 40, 56) and p.transmission.shape == (1, 40, 56)
        np.testing.assert_allclose(p.transmission, np.exp(-p.beta * p.depth), rtol=1e-5)
        expected = p.clean * p.transmission + p.airlight[:, None, None] * (1 - p.transmission)
        np.testing.assert_allclose(p.hazy, expected, atol=1e-6)
        assert 0 <= p.clean.min() and p.clean.max() <= 1 and 0 < p.transmission.min() < p.transmission.max() <= 1
        # haze lowers contrast: the hazy image is closer to the airlight than the clean one
        veil = p.airlight[:, None, None]
        assert np.abs(p.hazy - veil).mean() < np.abs(p.clean - veil).mean()
        betas.append(p.beta)
    assert max(betas) - min(betas) > 0.3  # haze density varies between images


def _backward_warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """img sampled at x + flow(x) (bilinear, align_corners=True pixel centres), written independently of the model."""
    h, w = img.shape[-2:]
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = np.stack([(xx + flow[0]) * 2 / (w - 1) - 1, (yy + flow[1]) * 2 / (h - 1) - 1], -1)
    out = F.grid_sample(torch.from_numpy(img)[None], torch.from_numpy(grid[None]).float(), align_corners=True)
    return out[0].numpy()


@pytest.mark.parametrize("contrast", [0.12, FLOW_TEXTURE_CONTRAST])
@pytest.mark.parametrize("occlusion", [False, True])
def test_flow_pair_frame2_is_frame1_moved_by_the_flow(occlusion, contrast):
    p = make_flow_pair(np.random.default_rng(1), 64, 80, occlusion=occlusion, contrast=contrast)
    assert p.frame1.shape == p.frame2.shape == (3, 64, 80) and p.flow.shape == (2, 64, 80)
    assert np.abs(p.flow).max() > 1  # something moves
    valid = p.valid[0] > 0
    err = np.abs(_backward_warp(p.frame2, p.flow) - p.frame1).mean(0)
    unwarped = np.abs(p.frame2 - p.frame1).mean(0)
    # brightness constancy along the flow, up to bilinear resampling of smooth textures: that error grows in
    # proportion to the texture amplitude, so the bound (0.01 at contrast 0.12) scales with the contrast
    bound = 0.01 * contrast / 0.12
    assert err[valid].mean() < bound < unwarped[valid].mean()
    wrong = np.abs(_backward_warp(p.frame2, 0.8 * p.flow) - p.frame1).mean(0)
    assert wrong[valid].mean() > bound  # a flow 20 % short does not pass: the bound still discriminates
    if occlusion:  # objects hide background: there are occluded pixels, and the warp does not explain them
        assert 0.02 < (~valid).mean() and err[~valid].mean() > 5 * err[valid].mean()
    else:  # only pixels leaving the frame are invalid
        assert valid.mean() > 0.85


def test_segmentation_scene_labels_and_class_appearance():
    img, labels = make_segmentation_scene(np.random.default_rng(0), 64, 64, num_classes=19)
    assert img.shape == (3, 64, 64) and img.dtype == np.float32 and labels.shape == (64, 64)
    assert 0 <= img.min() and img.max() <= 1 and labels.min() >= 0 and labels.max() < 19
    assert len(np.unique(labels)) >= 2
    # appearance belongs to the class: the same class looks alike in two scenes, other classes do not
    means = {}
    for seed in range(12):
        im, lab = make_segmentation_scene(np.random.default_rng(seed), 64, 64, num_classes=4, transparent=0.0)
        for c in np.unique(lab):
            means.setdefault(int(c), []).append(im[:, lab == c].mean(1))
    centre = {c: np.mean(v, 0) for c, v in means.items()}
    spread = np.mean([np.abs(v - centre[c]).mean() for c, vs in means.items() for v in vs])
    gaps = [np.abs(centre[a] - centre[b]).mean() for a in centre for b in centre if a < b]
    assert spread < min(gaps)


def test_input_batch_draws_consistent_frame_pairs_and_keeps_image_draws():
    f1, f2 = make_input_batch(np.random.default_rng(0), [(3, "frame1"), (3, "frame2")], 2, 32, 40)
    pair = make_flow_pair(np.random.default_rng(0), 32, 40)
    assert f1.shape == (2, 3, 32, 40) and np.array_equal(f1[0], pair.frame1) and np.array_equal(f2[0], pair.frame2)
    (img,) = make_input_batch(np.random.default_rng(5), [(3, "image")], 2, 16, 16)
    rng = np.random.default_rng(5)
    assert np.array_equal(img, np.stack([make_image(rng, 16, 16), make_image(rng, 16, 16)]))
    with pytest.raises(ValueError, match="frame1"):
        make_input_batch(np.random.default_rng(0), [(3, "frame2")], 1, 16, 16)
