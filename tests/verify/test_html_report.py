"""verify --html: one self-contained page, drawn by a real headless browser, that shows where the errors are."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeattn.bundle import finalize, read_manifest
from edgeattn.verify.__main__ import main as verify_main
from edgeattn.verify.html import HEATMAP_PX, png_bytes

from ..conftest import chromium

SPOT = 16  # the perturbed corner of the reference output, in image pixels


def _report(bundle: Path, out: Path, capsys) -> tuple[int, str]:  # noqa: ANN001
    rc = verify_main([str(bundle), "--runtimes", "ort,openvino", "--threads", "2", "--quiet", "--html", str(out)])
    capsys.readouterr()
    return rc, out.read_text(encoding="utf-8")


def _heatmaps(page: str) -> list[np.ndarray]:
    uris = re.findall(r'<img class="heat"[^>]* src="data:image/png;base64,([^"]+)"', page)
    import base64

    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u))).convert("RGB")) for u in uris]


@pytest.fixture
def spotted_bundle(ov_bundle: Path, copy_of) -> Path:  # noqa: ANN001
    """A copy of the bundle whose reference outputs are moved by +1 in the top-left SPOTxSPOT pixels only, re-hashed:
    a well-formed bundle with a localised error (what a wrong border or mask looks like)."""
    folder = copy_of(ov_bundle)
    manifest = read_manifest(folder)
    for case in manifest["reference"]["cases"]:
        path = folder / case["outputs"]
        with np.load(path) as data:
            arrays = {k: data[k].copy() for k in data.files}
        for v in arrays.values():
            v[..., :SPOT, :SPOT] += np.float32(1.0)
        np.savez(path, **arrays)
    finalize(folder, manifest)
    return folder


def test_png_writer_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgb))).convert("RGB")), rgb)


def test_page_is_self_contained_with_a_table_heat_map_and_histogram_per_runtime(ov_bundle: Path, tmp_path: Path,
                                                                                capsys):  # noqa: ANN001
    rc, page = _report(ov_bundle, tmp_path / "report.html", capsys)
    assert rc == 0
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)  # nothing fetched (the SVG namespace is a name)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))
    rows = re.findall(r"<tr><td>(ort|openvino)</td><td>64x64</td>", page)
    assert rows == ["ort", "openvino"] and "PASSED" in page
    maps = _heatmaps(page)
    assert len(maps) == 2 and all(m.shape[:2] == (HEATMAP_PX, HEATMAP_PX) for m in maps)  # 64x64 pixels, x5
    assert all(len(np.unique(m.reshape(-1, 3), axis=0)) > 10 for m in maps)  # an error field, not a flat fill
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2 and page.count('stroke="#d00"') == 2  # bars


def test_a_localised_error_shows_where_it_is(spotted_bundle: Path, tmp_path: Path, capsys):  # noqa: ANN001
    rc, page = _report(spotted_bundle, tmp_path / "report.html", capsys)
    assert rc == 1 and "FAILED" in page
    scale = HEATMAP_PX // 64
    for m in _heatmaps(page):
        red = np.all(m == (255, 0, 0), axis=-1)  # over the bar
        assert red[: SPOT * scale, : SPOT * scale].all() and not red[SPOT * scale:, :].any()
        assert not red[:, SPOT * scale:].any()


def _coloured(rgb: np.ndarray) -> int:
    """Saturated pixels (max - min channel > 60): the heat maps' colour scale is saturated throughout, the page's
    background, text and table are grey."""
    rgb = rgb.astype(int)
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 60).sum())


def _screenshot(page: Path, out: Path) -> np.ndarray:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={out.parent / 'profile'}", "--window-size=1300,1400", f"--screenshot={out}",
           page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(out.parent)})
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.mark.browser
def test_headless_chromium_draws_the_heat_maps(spotted_bundle: Path, tmp_path: Path, capsys):  # noqa: ANN001
    rc, page = _report(spotted_bundle, tmp_path / "report.html", capsys)
    shot = _screenshot(tmp_path / "report.html", tmp_path / "shot.png")
    red = int(np.all(shot == (255, 0, 0), axis=-1).sum())
    # The same page with the images left out: what it shows less is what the heat maps drew.
    blank = tmp_path / "blank.html"
    blank.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src=""', page), encoding="utf-8")
    drawn = _coloured(shot) - _coloured(_screenshot(blank, tmp_path / "blank.png"))
    # Two heat maps of HEATMAP_PX^2 CSS pixels, coloured throughout, each with its red corner over the bar.
    assert drawn > 0.8 * 2 * HEATMAP_PX**2, drawn
    assert red >= 0.8 * 2 * (SPOT * HEATMAP_PX // 64) ** 2, red


def test_verify_html_runs_without_torch_or_matplotlib(ov_bundle: Path, tmp_path: Path):
    code = ("import sys\nfor m in ('torch', 'matplotlib', 'onnx'):\n    sys.modules[m] = None\n"
            "from edgeattn.verify.__main__ import main\n"
            f"rc = main([{str(ov_bundle)!r}, '--runtimes', 'ort', '--quiet', '--html', {str(tmp_path / 'r.html')!r}])\n"
            "print(json.dumps(sorted(k for k, v in sys.modules.items()\n"
            "                        if v is not None and k.split('.')[0] in ('torch', 'matplotlib'))))\n"
            "raise SystemExit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [] and (tmp_path / "r.html").stat().st_size > 1000
