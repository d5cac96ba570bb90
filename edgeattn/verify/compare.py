"""Compare a runtime's output with PyTorch's: error statistics, NaN/Inf, tolerance, task-level check.

numpy only (verify runs without torch). The bar is never derived from the data being judged: it is the table's
tolerance, or the one stored in a bundle at export time, raised only by the fp32 floor that was measured from
PyTorch fp32 vs fp64 (`exact`, or `floor` as stored). A reference holding NaN/Inf is refused (IntegrityError).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .metrics import epe, psnr
from ..errors import IntegrityError
from ..bundle.tolerances import TASK_DIRECTIONS, TASK_THRESHOLDS, Tolerance, task_passes, tolerance_for

__all__ = ["Comparison", "compare", "unavailable", "format_table", "task_metric", "MAX_PSNR_DB"]

MAX_PSNR_DB = 200.0


@dataclass
class Comparison:
    runtime: str
    status: str  # passed | failed | unavailable | reference
    precision: str = "fp32"
    size: str = ""  # HxW the row was measured at
    max_abs_err: float | None = None
    mean_abs_err: float | None = None
    p99_abs_err: float | None = None
    nan: int = 0
    inf: int = 0
    tolerance: float | None = None  # the max-abs bar applied (fixed tolerance, or 2x the fp32 floor)
    mean_tolerance: float | None = None
    fp32_floor: float | None = None  # max |PyTorch fp32 - PyTorch fp64|: the best any fp32 runtime can do
    exact_abs_err: float | None = None  # max |runtime - PyTorch fp64|: the runtime's own distance to exact
    would_pass_at: float | None = None  # the smallest max-abs tolerance that passes (= max_abs_err)
    task_metric: str | None = None
    task_value: float | None = None
    task_threshold: float | None = None
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        return d


def unavailable(runtime: str, reason: str, precision: str = "fp32") -> Comparison:
    return Comparison(runtime=runtime, status="unavailable", precision=precision, reason=reason)


def task_metric(task: str, reference: np.ndarray, candidate: np.ndarray) -> tuple[str, float] | None:
    """The task-level agreement between two outputs, or None when the task defines none."""
    if task == "segmentation":
        agree = np.mean(reference.argmax(axis=1) == candidate.argmax(axis=1))
        return "argmax_agreement", float(agree)
    if task == "dehazing":
        # Identical outputs give inf; 200 dB (RMS 1e-10) stands for "identical" so reports stay valid JSON.
        return "psnr_db", min(psnr(reference, candidate, data_range=1.0), MAX_PSNR_DB)
    if task == "flow":
        return "epe_px", epe(candidate, reference)
    return None


def compare(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    runtime: str,
    precision: str = "fp32",
    task: str = "",
    exact: np.ndarray | None = None,
    floor: tuple[float, float] | None = None,
    tolerance: Tolerance | None = None,
    task_threshold: tuple[str, float] | None = None,
) -> Comparison:
    """Compare `candidate` with PyTorch's fp32 `reference`.

    `exact` (PyTorch in fp64) measures the fp32 floor here; `floor` = (max_abs, mean_abs) passes one measured
    earlier (a bundle's). `tolerance` and `task_threshold` = (metric, threshold) default to the table's entries.
    """
    if not np.isfinite(reference).all():
        raise IntegrityError(f"the reference for {runtime} holds NaN/Inf values: it cannot judge anything")
    tol = tolerance if tolerance is not None else tolerance_for(precision, runtime)
    floor_max = floor_mean = None
    exact_err = None
    if floor is not None:
        floor_max, floor_mean = float(floor[0]), float(floor[1])
    elif exact is not None and exact.shape == reference.shape:
        floor = np.abs(reference.astype(np.float64) - exact.astype(np.float64))
        floor_max, floor_mean = float(floor.max()), float(floor.mean())
        if candidate.shape == exact.shape:
            cmp_exact = np.abs(candidate.astype(np.float64) - exact.astype(np.float64))
            exact_err = float(np.nanmax(cmp_exact)) if np.isfinite(cmp_exact).any() else None
        else:
            exact_err = None
    max_tol, mean_tol = tol.effective(floor_max, floor_mean)
    cmp = Comparison(
        runtime=runtime,
        status="failed",
        precision=precision,
        tolerance=max_tol,
        mean_tolerance=mean_tol,
        fp32_floor=floor_max,
    )
    cmp.exact_abs_err = exact_err
    if reference.shape != candidate.shape:
        cmp.reason = f"shape {tuple(candidate.shape)} != PyTorch's {tuple(reference.shape)}"
        return cmp
    cand = candidate.astype(np.float64)
    cmp.nan = int(np.isnan(cand).sum())
    cmp.inf = int(np.isinf(cand).sum())
    diff = np.abs(cand - reference.astype(np.float64))
    finite = diff[np.isfinite(diff)]
    if finite.size:
        cmp.max_abs_err = float(finite.max())
        cmp.mean_abs_err = float(finite.mean())
        cmp.p99_abs_err = float(np.quantile(finite, 0.99))
        cmp.would_pass_at = cmp.max_abs_err
    problems = []
    if cmp.nan or cmp.inf:
        problems.append(f"{cmp.nan} NaN and {cmp.inf} Inf values")
    if cmp.max_abs_err is not None and cmp.max_abs_err > max_tol:
        problems.append(f"max abs error {cmp.max_abs_err:.3g} > {max_tol:.3g}")
    if cmp.mean_abs_err is not None and cmp.mean_abs_err > mean_tol:
        problems.append(f"mean abs error {cmp.mean_abs_err:.3g} > {mean_tol:.3g}")
    metric = task_metric(task, reference, candidate) if not (cmp.nan or cmp.inf) else None
    bar = task_threshold
    if bar is None and (task, precision) in TASK_THRESHOLDS:
        bar = TASK_THRESHOLDS[(task, precision)][:2]
    if metric is not None and bar is not None and bar[0] == metric[0]:
        name, threshold = bar
        cmp.task_metric, cmp.task_value, cmp.task_threshold = metric[0], metric[1], threshold
        if not task_passes(name, metric[1], threshold):
            worse = ">" if TASK_DIRECTIONS.get(name) == "<=" else "<"
            problems.append(f"{name} {metric[1]:.5g} {worse} {threshold}")
    cmp.status = "failed" if problems else "passed"
    cmp.reason = "; ".join(problems)
    return cmp


def _fmt(v: float | None, spec: str = ".2e") -> str:
    return "-" if v is None else format(v, spec)


def _task_value(v: float) -> str:
    """A task metric as stored, never rounded onto its threshold: 0.99999 prints as 0.99999, not 1."""
    text = f"{v:.6g}"
    return text if float(text) == v or abs(float(text) - v) < 5e-7 else repr(v)


def format_table(rows: list[Comparison], title: str = "") -> str:
    """A plain-text parity table (one row per runtime and case) that reads well in a terminal and in CI logs.

    `would pass at` is the smallest max-abs tolerance that would have passed (= max abs); `vs fp64` is the runtime's
    own distance to PyTorch fp64 (how exact it is, next to PyTorch fp32's `fp32 floor`), shown where fp64 outputs
    were at hand (the parity CLI; a bundle stores only the floor). Notes longer than a few words are numbered and
    printed below the table, so rows never wrap.
    """
    header = ["runtime", "size", "precision", "status", "max abs", "mean abs", "p99 abs", "tolerance",
              "would pass at", "fp32 floor", "vs fp64", "task check", "note"]
    body = []
    notes: dict[str, int] = {}
    for r in rows:
        task = "-"
        if r.task_metric:
            task = (f"{r.task_metric}={_task_value(r.task_value)} "
                    f"({TASK_DIRECTIONS.get(r.task_metric, '>=')} {r.task_threshold})")
        note = r.reason or ""
        if len(note) > 40:
            note = f"[{notes.setdefault(note, len(notes) + 1)}]"
        body.append([r.runtime, r.size or "-", r.precision, r.status.upper(), _fmt(r.max_abs_err),
                     _fmt(r.mean_abs_err), _fmt(r.p99_abs_err), _fmt(r.tolerance, ".1e"),
                     _fmt(r.would_pass_at, ".1e"), _fmt(r.fp32_floor, ".1e"), _fmt(r.exact_abs_err, ".1e"), task,
                     note])
    if all(r.exact_abs_err is None for r in rows):  # a bundle stores the floor, not fp64 outputs: nothing to show
        k = header.index("vs fp64")
        header = header[:k] + header[k + 1:]
        body = [row[:k] + row[k + 1:] for row in body]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = "  ".join("-" * w for w in widths)
    out = [title] if title else []
    out += ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]
    out += [f"[{k}] {text}" for text, k in notes.items()]
    return "\n".join(out)
