"""Procedural, seeded images: the inputs of parity checks, calibration and benchmarks.

Pure noise is a poor probe (every activation sits in the same regime), so images are small scenes:
smooth illumination gradients, filled shapes with sharp edges, a sinusoidal texture and a little noise.
Same seed and size -> same bytes on any machine.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_image", "make_mask"]


def make_image(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    """(channels, H, W) float32 in [0, 1]."""
    yy, xx = np.meshgrid(np.linspace(0, 1, height, dtype=np.float32), np.linspace(0, 1, width, dtype=np.float32),
                         indexing="ij")
    img = np.empty((channels, height, width), np.float32)
    base = rng.uniform(0.2, 0.8, size=channels).astype(np.float32)
    gy, gx = rng.uniform(-0.3, 0.3, size=(2, channels)).astype(np.float32)
    for c in range(channels):
        img[c] = base[c] + gy[c] * yy + gx[c] * xx
    for _ in range(int(rng.integers(4, 9))):  # shapes: ellipses and rectangles with their own colour
        color = rng.uniform(0, 1, size=channels).astype(np.float32)
        cy, cx = rng.uniform(0, 1, size=2)
        ry, rx = rng.uniform(0.05, 0.35, size=2)
        if rng.random() < 0.5:
            inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            inside = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
        img[:, inside] = color[:, None]
    freq = rng.uniform(8, 40)
    angle = rng.uniform(0, np.pi)
    texture = 0.08 * np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi)
    img += texture[None].astype(np.float32)
    img += rng.normal(0, 0.02, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def make_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(1, H, W) float32 binary mask: 1 marks holes (a few rectangles)."""
    mask = np.zeros((1, height, width), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        h = int(rng.integers(max(1, height // 8), max(2, height // 3)))
        w = int(rng.integers(max(1, width // 8), max(2, width // 3)))
        y = int(rng.integers(0, height - h + 1))
        x = int(rng.integers(0, width - w + 1))
        mask[:, y : y + h, x : x + w] = 1
    return mask
