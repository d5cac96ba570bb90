"""Parity reports: a terminal table, report.json and report.md (both written atomically).

Columns: model, size, runtime, precision, status, max / mean / p99 abs error against PyTorch fp32, the
tolerance applied (max abs), the tolerance that would have passed (= the max abs error), PyTorch's own fp32
floor (|fp32 - fp64|), the task-level check, and the reason for a failure (with the localised module).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

from .._version import __version__
from .._atomic import atomic_write_text
from ..verify.compare import _fmt
from ..bundle.tolerances import TASK_DIRECTIONS

__all__ = ["HEADER", "table_rows", "format_text", "format_markdown", "write_reports", "summary"]

HEADER = ["model", "size", "runtime", "precision", "status", "max abs", "mean abs", "p99 abs", "tolerance",
          "would pass at", "fp32 floor", "vs fp64", "task check", "note"]


def _task(c) -> str:  # noqa: ANN001 - a Comparison
    if not c.task_metric:
        return "-"
    return f"{c.task_metric}={c.task_value:.4g} ({TASK_DIRECTIONS.get(c.task_metric, '>=')} {c.task_threshold})"


def table_rows(rows: list) -> list[list[str]]:  # rows: list[ParityRow]
    out = []
    for r in rows:
        c = r.comparison
        out.append([r.model, c.size or "-", c.runtime, c.precision, c.status.upper(), _fmt(c.max_abs_err),
                    _fmt(c.mean_abs_err), _fmt(c.p99_abs_err), _fmt(c.tolerance, ".1e"), _fmt(c.would_pass_at, ".1e"),
                    _fmt(c.fp32_floor, ".1e"), _fmt(c.exact_abs_err, ".1e"), _task(c), c.reason])
    return out


def summary(rows: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.comparison.status] = counts.get(r.comparison.status, 0) + 1
    return counts


def format_text(rows: list) -> str:
    body = table_rows(rows)
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *body)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]
    counts = summary(rows)
    lines.append(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def format_markdown(rows: list, meta: dict) -> str:
    out = ["# edgeattn parity report", "",
           f"edgeattn {meta['edgeattn']}, precision {meta['precision']}, "
           f"threads {meta['threads'] if meta['threads'] else 'each runtime default'}, "
           f"seed {meta['seed']}, "
           f"batch {meta['batch']}; host: {meta['host']}", "",
           "Errors are absolute, against PyTorch fp32 on the same inputs. "
           "`would pass at` is the smallest max-abs tolerance that passes; `fp32 floor` is |PyTorch fp32 - fp64|.",
           "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table_rows(rows)]
    counts = summary(rows)
    out += ["", "Summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), ""]
    located = [r for r in rows if r.localisation]
    if located:
        out += ["## Failure localisation", ""]
        for r in located:
            c = r.comparison
            out.append(f"- {r.model} {c.size} {c.runtime}: {r.localisation['summary']}")
        out.append("")
    return "\n".join(out)


def _meta(config) -> dict:  # noqa: ANN001 - ParityConfig
    return {"edgeattn": __version__, "python": sys.version.split()[0], "precision": config.precision,
            "threads": config.threads, "host": f"{platform.machine()} {platform.processor() or ''}".strip()
            + f", {os.cpu_count()} logical CPUs"}


def write_reports(rows: list, config, plan, folder: Path) -> tuple[Path, Path]:  # noqa: ANN001
    meta = {**_meta(config), "seed": plan.seed, "batch": plan.batch, "reference": "PyTorch on this host"}
    counts = summary(rows)
    verdict = "failed" if counts.get("failed") else "not_verified" if counts.get("unavailable") else "passed"
    doc = {"meta": meta, "summary": counts, "passed": verdict == "passed", "verdict": verdict,
           "rows": [r.to_dict() for r in rows]}
    folder = Path(folder)
    j = atomic_write_text(folder / "report.json", json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
    m = atomic_write_text(folder / "report.md", format_markdown(rows, meta))
    return j, m
