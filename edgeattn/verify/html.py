"""One self-contained HTML page of a verification: the table, and per runtime and case a heat map of
|runtime - reference| over the image and a histogram of the errors against the bar.

numpy and the standard library only (verify runs on devices without torch or matplotlib): heat maps are PNG files
written here with zlib + struct and inlined as data: URIs, histograms are inline SVG. Nothing is fetched.

    collector = ErrorMaps()
    result = verify_bundle(bundle, observe=collector)
    write_html(result, collector, "report.html")
"""

from __future__ import annotations

import base64
import html
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ErrorMap", "ErrorMaps", "png_bytes", "render_html", "write_html", "HEATMAP_PX"]

HEATMAP_PX = 320  # the longer side of a heat map on the page (pixels are repeated to reach it, never smoothed)
_BINS = 40
DECADES = 5  # the heat map's colour scale spans this many decades of |error| below the bar
# Colour map anchors (dark blue -> teal -> yellow): low errors stay visible against the white page.
_ANCHORS = np.array([[13, 8, 135], [84, 2, 163], [139, 10, 165], [185, 50, 137], [219, 92, 104],
                     [244, 136, 73], [254, 188, 43], [240, 249, 33]], dtype=np.float64)
_OVER = np.array([255, 0, 0], dtype=np.uint8)  # pixels above the bar


@dataclass
class ErrorMap:
    """|runtime - reference| of one row, reduced to what the page draws."""

    runtime: str
    case: str
    image: np.ndarray  # (H, W) float64: max |error| over batch and channels at each pixel
    log_errors: np.ndarray  # log10 of every nonzero |error| (a sample, at most 200k values)
    zeros: int  # errors that are exactly 0
    count: int
    bar: float | None  # the max-abs tolerance applied (None when the row had none)
    status: str


@dataclass
class ErrorMaps:
    """The `observe` hook of verify_bundle: keeps one ErrorMap per compared row."""

    maps: list[ErrorMap] = field(default_factory=list)

    def __call__(self, row, reference: np.ndarray, got: np.ndarray) -> None:  # noqa: ANN001 - a Comparison
        err = np.abs(got.astype(np.float64) - reference.astype(np.float64))
        err = np.where(np.isfinite(err), err, np.inf)
        if err.ndim >= 3:  # (..., H, W): the worst over every leading axis (batch, channels) at each pixel
            image = err.reshape(-1, *err.shape[-2:]).max(axis=0)  # (H, W)
        else:
            image = err.reshape(1, -1)
        flat = err.ravel()
        if flat.size > 200_000:  # a deterministic sample keeps the page small and the histogram's shape
            flat = flat[:: flat.size // 200_000 + 1]
        nonzero = flat[(flat > 0) & np.isfinite(flat)]
        self.maps.append(ErrorMap(row.runtime, row.size, image, np.log10(nonzero), int((flat == 0).sum()),
                                  int(flat.size), row.tolerance, row.status))


def _colours(values: np.ndarray) -> np.ndarray:
    """values in [0, 1] -> (..., 3) uint8 along the anchor colours."""
    pos = np.clip(values, 0, 1) * (len(_ANCHORS) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(_ANCHORS) - 1)
    t = (pos - lo)[..., None]
    return np.round(_ANCHORS[lo] * (1 - t) + _ANCHORS[hi] * t).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """A (H, W, 3) uint8 array as an 8-bit RGB PNG (no interlace, filter 0 on every row)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _heatmap(m: ErrorMap) -> tuple[str, float, float]:
    """The heat map as a data: URI on a log scale of DECADES decades up to the bar (or up to the largest error when
    there is no bar): where an error sits against the bar shows at a glance; pixels over the bar are red."""
    image = m.image
    finite = image[np.isfinite(image)]
    top = m.bar if m.bar else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    low = top / 10**DECADES
    scaled = (np.log10(np.maximum(np.where(np.isfinite(image), image, top), low)) - np.log10(low)) / DECADES
    rgb = _colours(scaled)
    if m.bar is not None:
        rgb[~(image <= m.bar)] = _OVER  # also NaN/Inf
    scale = max(1, HEATMAP_PX // max(image.shape))
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii"), low, top


def _histogram(m: ErrorMap, width: int = 360, height: int = 150) -> str:
    """Inline SVG: counts of log10|error| per bin, a red line at the bar, zero errors counted in the caption."""
    values = m.log_errors
    lo = float(values.min()) if values.size else -8.0
    hi = float(values.max()) if values.size else -7.0
    if m.bar:
        lo, hi = min(lo, np.log10(m.bar) - 1), max(hi, np.log10(m.bar) + 0.5)
    lo, hi = np.floor(lo), np.ceil(hi) if np.ceil(hi) > np.floor(lo) else np.floor(lo) + 1
    counts, edges = np.histogram(values, bins=_BINS, range=(lo, hi))
    pad, plot_h = 28, height - 40
    x = lambda v: pad + (v - lo) / (hi - lo) * (width - 2 * pad)  # noqa: E731 - a local scale
    top = max(int(counts.max()), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="hist">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa"/>']
    for c, a, b in zip(counts, edges[:-1], edges[1:]):
        if c:
            h = max(1.0, c / top * plot_h)
            parts.append(f'<rect x="{x(a):.1f}" y="{10 + plot_h - h:.1f}" width="{max(x(b) - x(a) - 1, 1):.1f}" '
                         f'height="{h:.1f}" fill="#3b5ba5"/>')
    for d in range(int(lo), int(hi) + 1):
        parts.append(f'<text x="{x(d):.1f}" y="{height - 14}" font-size="10" text-anchor="middle">1e{d}</text>')
    if m.bar:
        xb = x(np.log10(m.bar))
        parts.append(f'<line x1="{xb:.1f}" y1="6" x2="{xb:.1f}" y2="{10 + plot_h}" stroke="#d00" stroke-width="2"/>'
                     f'<text x="{xb + 3:.1f}" y="16" font-size="10" fill="#d00">bar {m.bar:.1e}</text>')
    parts.append(f'<text x="{pad}" y="{height - 2}" font-size="10">|error| (log scale); {m.count} values, '
                 f'{m.zeros} exactly 0</text></svg>')
    return "".join(parts)


def _num(v: object) -> str:
    return "-" if v is None else f"{v:.2e}" if isinstance(v, float) else html.escape(str(v))


_COLUMNS = ("runtime", "size", "precision", "status", "max_abs_err", "mean_abs_err", "p99_abs_err", "tolerance",
            "fp32_floor", "task_metric", "task_value", "reason")
_STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}.passed{color:#070}.failed{color:#c00;font-weight:bold}
.unavailable{color:#a60}figure{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}
img.heat{image-rendering:pixelated;border:1px solid #999}figcaption{font-size:12px;max-width:380px}"""


def render_html(result, maps: ErrorMaps, title: str = "") -> str:  # noqa: ANN001 - a VerifyResult
    """The page as one string: no external reference (no scripts, styles, fonts or images from anywhere)."""
    esc = html.escape
    head = title or f"verify {result.bundle}"
    rows = "".join("<tr>" + "".join(f'<td class="{esc(r.status)}">{_num(getattr(r, c))}</td>' if c == "status"
                                    else f"<td>{_num(getattr(r, c))}</td>" for c in _COLUMNS) + "</tr>"
                   for r in result.rows)
    figures = []
    for m in maps.maps:
        uri, low, top = _heatmap(m)
        h, w = m.image.shape
        bar = "no bar" if m.bar is None else f"bar {m.bar:.1e}"
        worst = float(np.nanmax(m.image)) if m.image.size else 0.0
        figures.append(
            f'<section class="case"><h3>{esc(m.runtime)} · {esc(m.case)} · <span class="{esc(m.status)}">'
            f'{esc(m.status)}</span></h3><figure><img class="heat" alt="heat map of |{esc(m.runtime)} - reference| '
            f'at {esc(m.case)}" src="{uri}"><figcaption>max |error| over batch and channels at each of the {h}x{w} '
            f"pixels (largest {worst:.2e}); log colour scale from {low:.0e} or less (dark blue) to {top:.1e} (yellow); "
            f"red: over the {bar}</figcaption></figure>"
            f"<figure>{_histogram(m)}<figcaption>errors of every output value against the {bar}</figcaption>"
            "</figure></section>")
    if not figures:
        figures.append("<p>No runtime ran here, so there is no error to draw; the table says why.</p>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(head)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{esc(head)}</h1>"
            f"<p>model <b>{esc(result.model)}</b>, target {esc(result.target)}, precision {esc(result.precision)}"
            f" — verdict <b class=\"{esc(result.verdict)}\">{esc(result.label)}</b></p>"
            f"<table><tr>{''.join(f'<th>{c}</th>' for c in _COLUMNS)}</tr>{rows}</table>"
            f"<h2>|runtime − reference| per runtime and case</h2>{''.join(figures)}</body></html>\n")


def write_html(result, maps: ErrorMaps, path: str | Path, title: str = "") -> Path:  # noqa: ANN001
    """Write the page atomically (a reader never sees half of it); return its path."""
    from .._atomic import atomic_write_text

    path = Path(path)
    atomic_write_text(path, render_html(result, maps, title))
    return path
