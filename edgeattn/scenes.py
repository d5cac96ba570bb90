"""Procedural, seeded images: the inputs of parity checks, calibration and benchmarks.

A floor module (numpy only, imports nothing of edgeattn): the models calibrate their random-init BatchNorm
statistics on these images, and `models` must not import `data` (which sits above it), so the generators live
here; `edgeattn.data.synthetic` re-exports them for the task-data side.

Pure noise is a poor probe (every activation sits in the same regime), so images are small scenes:
smooth illumination gradients, filled shapes with sharp edges, a sinusoidal texture and a little noise.
Same seed and size -> same bytes on any machine.

Task data: hazy/clean pairs by the atmospheric scattering model (`make_hazy_pair`), frame pairs
with exact ground-truth flow (`make_flow_pair`) and labelled segmentation scenes (`make_segmentation_scene`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["make_image", "make_mask", "HazyPair", "make_hazy_pair", "FlowPair", "make_flow_pair",
           "FLOW_TEXTURE_CONTRAST", "make_segmentation_scene", "INPUT_KINDS", "make_input_batch"]


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


# -- procedural textures: functions of continuous coordinates, so a surface can be drawn at any position --------


class _Texture:
    """A colour field over continuous coordinates (pixels): base colour, a few sinusoids and smooth blobs.

    Because it is a function of position rather than a raster, the same surface point has exactly the same
    colour wherever a frame draws it (brightness constancy for the flow pairs, no resampling blur).
    """

    def __init__(self, rng: np.random.Generator, channels: int = 3, scale: float = 64.0,
                 color: np.ndarray | None = None, contrast: float = 0.12) -> None:
        self.color = (rng.uniform(0.15, 0.85, size=channels) if color is None else np.asarray(color)).astype(np.float64)
        n = 3
        self.freq = rng.uniform(0.5, 4.0, size=n) * 2 * np.pi / scale  # radians per pixel
        self.angle = rng.uniform(0, np.pi, size=n)
        self.phase = rng.uniform(0, 2 * np.pi, size=(n, channels))
        self.amp = contrast * rng.uniform(0.3, 1.0, size=(n, channels)) / n

    def __call__(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """y, x: (...) pixel coordinates -> (channels, ...) colours."""
        per_channel = (-1, *([1] * y.ndim))  # (C,) -> (C, 1, ..., 1), broadcasts over the coordinates
        out = np.broadcast_to(self.color.reshape(per_channel), (len(self.color), *y.shape)).copy()
        for i in range(len(self.freq)):
            t = self.freq[i] * (np.cos(self.angle[i]) * x + np.sin(self.angle[i]) * y)  # (...)
            out += self.amp[i].reshape(per_channel) * np.sin(t[None] + self.phase[i].reshape(per_channel))
        return out


def _shape_inside(rng: np.random.Generator, height: int, width: int, lo: float = 0.08, hi: float = 0.3):
    """A random ellipse or rectangle: returns inside(y, x) -> bool array, in pixel coordinates."""
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    ry, rx = rng.uniform(lo, hi) * height, rng.uniform(lo, hi) * width
    ellipse = rng.random() < 0.5

    def inside(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        if ellipse:
            return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        return (np.abs(y - cy) <= ry) & (np.abs(x - cx) <= rx)

    return inside


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")


# -- hazy / clean pairs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HazyPair:
    hazy: np.ndarray  # (3, H, W) float32 in [0, 1]: I = J t + A (1 - t)
    clean: np.ndarray  # (3, H, W) float32 in [0, 1]: J
    transmission: np.ndarray  # (1, H, W) float32: t = exp(-beta depth)
    depth: np.ndarray  # (1, H, W) float32, scene depth in arbitrary units (0.1 .. ~1.2)
    airlight: np.ndarray  # (3,) float32: A
    beta: float  # scattering coefficient


def make_hazy_pair(rng: np.random.Generator, height: int, width: int,
                   beta_range: tuple[float, float] = (0.6, 2.5)) -> HazyPair:
    """A procedural outdoor-like scene with depth, hazed by the atmospheric scattering model.

    Koschmieder's model as used by dehazing work (e.g. He et al., "Single image haze removal using dark
    channel prior", CVPR 2009, Eq. 1; Li et al., AOD-Net, ICCV 2017, Eq. 1):
        I(x) = J(x) t(x) + A (1 - t(x)),   t(x) = exp(-beta d(x)).
    The scene: a sky band far away and a ground plane whose depth grows towards the horizon, with textured
    objects (ellipses, rectangles) standing at their own, nearer depth; beta and a slightly tinted, bright
    airlight A are drawn per image, so haze density varies from thin to dense.
    """
    yy, xx = _grid(height, width)
    horizon = rng.uniform(0.2, 0.45) * height
    v = (yy - horizon) / max(height - horizon, 1.0)  # 0 at the horizon, 1 at the bottom row
    depth = np.where(yy < horizon, 1.2, 0.15 + 1.0 * (1 - np.clip(v, 0, 1)) ** 2)  # (H, W)
    sky, ground = _Texture(rng, scale=height, contrast=0.05), _Texture(rng, scale=height / 4)
    sky.color = np.array([0.55, 0.7, 0.9]) * rng.uniform(0.8, 1.1)
    clean = np.where((yy < horizon)[None], sky(yy, xx), ground(yy, xx))  # (3, H, W)
    for _ in range(int(rng.integers(3, 8))):  # objects stand on the ground: nearer ones are lower and bigger
        inside = _shape_inside(rng, height, width)(yy, xx)
        tex = _Texture(rng, scale=height / rng.uniform(2, 8))
        clean = np.where(inside[None], tex(yy, xx), clean)
        depth = np.where(inside, rng.uniform(0.1, 0.9), depth)
    clean = np.clip(clean, 0, 1)
    beta = float(rng.uniform(*beta_range))
    airlight = np.clip(rng.uniform(0.75, 1.0) + rng.uniform(-0.05, 0.05, size=3), 0, 1)
    t = np.exp(-beta * depth)[None]  # (1, H, W)
    hazy = clean * t + airlight[:, None, None] * (1 - t)
    f = np.float32
    return HazyPair(hazy.astype(f), clean.astype(f), t.astype(f), depth[None].astype(f), airlight.astype(f), beta)


# -- frame pairs with ground-truth flow -----------------------------------------------------------------------


@dataclass(frozen=True)
class FlowPair:
    frame1: np.ndarray  # (3, H, W) float32 in [0, 1]
    frame2: np.ndarray  # (3, H, W) float32 in [0, 1]
    flow: np.ndarray  # (2, H, W) float32: (u, v) in pixels, frame1 pixel (y, x) moves to (y + v, x + u)
    valid: np.ndarray  # (1, H, W) float32: 1 where the frame1 pixel is visible in frame2 (not occluded, in frame)


class _Motion:
    """p -> A (p - c) + c + t + d(p): an affine motion about the image centre plus smooth local bumps."""

    def __init__(self, rng: np.random.Generator, height: int, width: int, max_shift: float, deform: bool) -> None:
        ang = rng.uniform(-0.05, 0.05)
        s = rng.uniform(0.95, 1.05)
        self.a = s * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])  # acts on (y, x)
        self.c = np.array([height / 2, width / 2])
        self.t = rng.uniform(-max_shift, max_shift, size=2)
        # Gaussian bumps of displacement: amplitude < sigma / 3 keeps the map invertible (Lipschitz < 1).
        n = int(rng.integers(2, 5)) if deform else 0
        self.mu = rng.uniform(0, 1, size=(n, 2)) * [height, width]
        self.sigma = rng.uniform(0.15, 0.35, size=n) * min(height, width)
        self.amp = rng.uniform(-1, 1, size=(n, 2)) * self.sigma[:, None] / 4

    def _bumps(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dy = np.zeros_like(y)
        dx = np.zeros_like(x)
        for mu, sg, amp in zip(self.mu, self.sigma, self.amp):
            g = np.exp(-((y - mu[0]) ** 2 + (x - mu[1]) ** 2) / (2 * sg**2))
            dy += amp[0] * g
            dx += amp[1] * g
        return dy, dx

    def forward(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        py, px = y - self.c[0], x - self.c[1]
        by, bx = self._bumps(y, x)
        return (self.a[0, 0] * py + self.a[0, 1] * px + self.c[0] + self.t[0] + by,
                self.a[1, 0] * py + self.a[1, 1] * px + self.c[1] + self.t[1] + bx)

    def inverse(self, y: np.ndarray, x: np.ndarray, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
        # Fixed point p = A^-1 (q - c - t - d(p)) + c; converges because d is a contraction (see __init__).
        inv = np.linalg.inv(self.a)
        py, px = y.copy(), x.copy()
        for _ in range(iters):
            by, bx = self._bumps(py, px)
            qy, qx = y - self.c[0] - self.t[0] - by, x - self.c[1] - self.t[1] - bx
            py = inv[0, 0] * qy + inv[0, 1] * qx + self.c[0]
            px = inv[1, 0] * qy + inv[1, 1] * qx + self.c[1]
        return py, px


# Texture contrast of the flow pairs' surfaces. It was raised from _Texture's 0.12: at 0.12 an occlusion-free
# pair (half of the training pairs) had an image std of ~0.03 and a mean gradient of ~0.006 per pixel, so a 4 px
# motion changed intensities by ~0.02 and the only usable signal was object edges; trained flow nets stayed near
# the zero-flow EPE. FlyingChairs-style data has rich texture; 0.4 gives an image std of ~0.1 on the background.
FLOW_TEXTURE_CONTRAST = 0.4


def make_flow_pair(rng: np.random.Generator, height: int, width: int, occlusion: bool = True,
                   max_shift: float | None = None, contrast: float = FLOW_TEXTURE_CONTRAST) -> FlowPair:
    """Two frames of a layered scene and the exact forward flow from frame 1 to frame 2.

    Construction (in the spirit of FlyingChairs, Dosovitskiy et al., ICCV 2015, with analytic textures): a
    textured background moves by a global affine motion (rotation +-3 deg, scale +-5 %, shift up to
    `max_shift` px, default H/16) plus smooth local deformations (Gaussian displacement bumps), textures of
    `contrast` (FLOW_TEXTURE_CONTRAST); with
    `occlusion=True`, 2-4 textured objects move by their own affine motions in front of it, hiding and
    revealing background. Each frame is drawn by mapping every pixel back to the surface point it shows
    (exact inverse of each layer's motion), and textures are functions of surface coordinates, so brightness
    is constant along the flow. The flow of a frame-1 pixel is its layer's motion, m(p) - p; `valid` marks
    pixels whose point is still the visible one in frame 2 and stays inside it.
    """
    shift = height / 16 if max_shift is None else max_shift
    yy, xx = _grid(height, width)
    layers = [(None, _Texture(rng, scale=height / 3, contrast=contrast),
               _Motion(rng, height, width, shift, deform=True))]
    if occlusion:
        for _ in range(int(rng.integers(2, 5))):
            layers.append((_shape_inside(rng, height, width, 0.1, 0.25),
                           _Texture(rng, scale=height / 6, contrast=contrast),
                           _Motion(rng, height, width, 1.5 * shift, deform=False)))

    def render(points) -> tuple[np.ndarray, np.ndarray]:
        img = np.zeros((3, height, width))
        owner = np.full((height, width), -1)
        for i, ((inside, tex, _), (py, px)) in enumerate(zip(layers, points)):
            mask = np.ones((height, width), bool) if inside is None else inside(py, px)
            img = np.where(mask[None], tex(py, px), img)
            owner = np.where(mask, i, owner)
        return np.clip(img, 0, 1), owner

    frame1, owner1 = render([(yy, xx)] * len(layers))
    frame2, owner2 = render([m.inverse(yy, xx) for _, _, m in layers])
    flow = np.zeros((2, height, width))
    valid = np.zeros((height, width), bool)
    for i, (_, _, m) in enumerate(layers):
        ty, tx = m.forward(yy, xx)
        sel = owner1 == i
        flow[0][sel], flow[1][sel] = (tx - xx)[sel], (ty - yy)[sel]
        iy, ix = np.rint(ty).astype(int), np.rint(tx).astype(int)
        inb = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
        seen = np.zeros_like(inb)
        seen[inb] = owner2[iy[inb], ix[inb]] == i
        valid |= sel & seen
    f = np.float32
    return FlowPair(frame1.astype(f), frame2.astype(f), flow.astype(f), valid[None].astype(f))


# -- segmentation scenes --------------------------------------------------------------------------------------


def _class_texture(cls: int, height: int) -> _Texture:
    # Appearance belongs to the class, not the scene: seeded by the class id, so it can be learned.
    return _Texture(np.random.default_rng(10_000 + cls), scale=height / (1.5 + cls % 5), contrast=0.15)


def make_segmentation_scene(rng: np.random.Generator, height: int, width: int, num_classes: int = 19,
                            transparent: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """An image of class-labelled shapes and its label map: ((3, H, W) float32 in [0, 1], (H, W) int64).

    Class 0 is the background; 3-7 shapes of random classes 1..K-1 are painted in order, each with its
    class's colour and texture (fixed per class) under a per-scene brightness change. With probability
    `transparent` a shape is a transparent-looking overlay (alpha 0.35-0.6 over what lies below, a bright
    rim): its pixels still carry its class, as transparent objects do in Trans10K-style labels.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    yy, xx = _grid(height, width)
    gain = rng.uniform(0.85, 1.15)
    img = gain * _class_texture(0, height)(yy + rng.uniform(0, 1e3), xx + rng.uniform(0, 1e3))
    labels = np.zeros((height, width), np.int64)
    for _ in range(int(rng.integers(3, 8))):
        cls = int(rng.integers(1, num_classes))
        inside = _shape_inside(rng, height, width)(yy, xx)
        tex = gain * _class_texture(cls, height)(yy + rng.uniform(0, 1e3), xx + rng.uniform(0, 1e3))
        if rng.random() < transparent:
            alpha = rng.uniform(0.35, 0.6)
            ring = inside & ~_erode(inside)
            tex = np.where(ring[None], 0.95, alpha * tex + (1 - alpha) * img)
        img = np.where(inside[None], tex, img)
        labels[inside] = cls
    img += rng.normal(0, 0.02, size=img.shape)
    return np.clip(img, 0, 1).astype(np.float32), labels


def _erode(mask: np.ndarray) -> np.ndarray:
    """4-neighbour binary erosion by one pixel (image border counts as outside)."""
    m = np.pad(mask, 1, constant_values=False)
    return m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]


# -- model inputs by kind -------------------------------------------------------------------------------------

INPUT_KINDS = ("image", "mask", "hazy", "frame1", "frame2")


def make_input_batch(rng: np.random.Generator, inputs: list[tuple[int, str]], batch: int, height: int,
                     width: int) -> list[np.ndarray]:
    """One (batch, C, H, W) float32 array per model input, given (channels, kind) per input.

    Kinds: image (`make_image`), mask (`make_mask`), hazy (`make_hazy_pair(...).hazy`), frame1/frame2 (the two
    frames of `make_flow_pair`: frame2 is frame1 moved by a known flow, drawn when frame1 is). For image and
    mask the draws from `rng` are exactly those of calling the makers in input order, then batch order.
    """
    pairs: list[FlowPair] = []
    out = []
    for channels, kind in inputs:
        if kind == "mask":
            arrs = [make_mask(rng, height, width) for _ in range(batch)]
        elif kind == "hazy":
            arrs = [make_hazy_pair(rng, height, width).hazy for _ in range(batch)]
        elif kind == "frame1":
            pairs = [make_flow_pair(rng, height, width) for _ in range(batch)]
            arrs = [p.frame1 for p in pairs]
        elif kind == "frame2":
            if not pairs:  # frame2 needs the pair drawn with frame1
                raise ValueError("an input of kind 'frame2' must follow one of kind 'frame1'")
            arrs = [p.frame2 for p in pairs]
        else:
            arrs = [make_image(rng, height, width, channels) for _ in range(batch)]
        out.append(np.ascontiguousarray(np.stack(arrs), dtype=np.float32))
    return out
