"""What a person reads after `python -m edgeattn.bench`: nothing cut, nothing unexplained, an incomplete run said so.

Built on hand-made results (no timing), so each check is about the report, not about the machine.
"""

from __future__ import annotations

from edgeattn.bench.__main__ import _summary, build_parser
from edgeattn.bench.harness import BenchConfig, BenchResult, Measurement, _alphas, _meta, case_line
from edgeattn.bench.progress import ProgressBar
from edgeattn.bench.report import format_markdown

LONG = ("export failed: RuntimeError: the exporter could not convert aten::something_long at this size because the "
        "graph has a data-dependent branch that tracing cannot follow")


def _result(complete: bool = True) -> BenchResult:
    res = BenchResult(meta={**_meta(BenchConfig()), "complete": complete})
    res.modules = [
        Measurement("module", "lga", "ort", "64x64", 4096, "export", median_ms=2.0, p90_ms=2.2, fps=500.0),
        Measurement("module", "lga", "openvino", "64x64", 4096, "export", status="error", reason=LONG),
    ]
    res.alphas = _alphas(res.modules, 64 * 64)
    return res


def test_long_notes_become_footnotes_not_cut():
    md = format_markdown(_result())
    assert LONG in md, "the note was cut"
    row = next(ln for ln in md.splitlines() if ln.startswith("| lga | 64x64 | openvino"))
    assert row.rstrip().endswith("[1] |") and LONG not in row


def test_alpha_dash_says_why():
    res = _result()
    alpha = next(a for a in res.alphas if a["runtime"] == "ort")
    assert alpha["alpha"] is None and "needs measurements at >= 2 feature maps" in alpha["reason"]
    assert "needs measurements at >= 2 feature maps" in format_markdown(res)


def test_incomplete_run_is_marked():
    assert "INCOMPLETE" in format_markdown(_result(complete=False))
    assert "INCOMPLETE" not in format_markdown(_result(complete=True))


def test_terminal_shows_latencies():
    res = _result()
    text = _summary(res)
    assert "lga 64x64" in text and "2.0" in text and "error" in text
    assert case_line(res.modules[0]) == "lga 64x64 ort: 2.0 ms (p90 2.2, 500.0 FPS)"


def test_progress_reaches_n_of_n():
    lines: list[str] = []
    with ProgressBar(2, lines.append) as bar:
        bar.describe("a")
        bar.advance()
        bar.describe("b")
        bar.advance()
        bar.finish()
    assert lines[-1] == "[2/2] done"


def test_help_is_not_cut():
    text = build_parser().format_help()
    assert "per model x runtime x size, and the attention-module resolution sweep" in " ".join(text.split())
