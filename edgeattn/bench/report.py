"""Benchmark reports: results.json, results.md (tables + the goals) and PNG plots, written atomically.

Targets: ORT and OpenVINO >= 1.5x PyTorch eager on lga_mobilenet at 512x1024; LGA alpha <= 1.15;
criss-cross peak memory at a 128x256 feature map <= 1/10 of non-local's; lga_mobilenet >= 40% of the MatMul
ceiling on the faster runtime. Each is evaluated from the measured rows; a missing measurement says so.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from .._atomic import atomic_write_bytes, atomic_write_text
from .harness import BenchResult, Measurement

__all__ = ["targets", "format_markdown", "write_reports", "plot_sweep", "plot_models"]


def _f(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def _find(rows: list[Measurement], name: str, runtime: str, size: str) -> Measurement | None:
    return next((m for m in rows if m.name == name and m.runtime == runtime and m.size == size and m.status == "ok"),
                None)


def targets(res: BenchResult) -> list[dict]:
    """Each target: what, measured value, goal, met (True/False/None when not measured), note."""
    out = []
    eager = _find(res.models, "lga_mobilenet", "torch", "512x1024")
    for rt in ("ort", "openvino"):
        m = _find(res.models, "lga_mobilenet", rt, "512x1024")
        speed = eager.median_ms / m.median_ms if (eager and m) else None
        out.append({"target": f"lga_mobilenet 512x1024: {rt} speed-up over PyTorch eager", "goal": ">= 1.5x",
                    "value": speed, "met": None if speed is None else speed >= 1.5,
                    "note": "" if speed is not None else "not measured in this run"})
    for a in res.alphas:
        if a["module"] in ("lga", "nonlocal"):
            goal = "<= 1.15" if a["module"] == "lga" else "~2 (reference point)"
            met = None if a["alpha"] is None or a["module"] != "lga" else a["alpha"] <= 1.15
            out.append({"target": f"alpha of {a['module']} on {a['runtime']} ({', '.join(a['sizes'])})", "goal": goal,
                        "value": a["alpha"], "met": met, "note": a.get("reason", "")})
    for rt in ("torch", "ort", "openvino"):
        cc, nl = _find(res.modules, "criss_cross", rt, "128x256"), _find(res.modules, "nonlocal", rt, "128x256")
        ratio = cc.peak_mib / nl.peak_mib if (cc and nl and cc.peak_mib is not None and nl.peak_mib) else None
        out.append({"target": f"criss-cross / non-local peak memory at 128x256 on {rt}", "goal": "<= 0.10",
                    "value": ratio, "met": None if ratio is None else ratio <= 0.10,
                    "note": "" if ratio is not None else "not measured in this run"})
    q = next((r for r in res.precision if r["model"] == "lga_mobilenet" and r["size"] == "512x1024"
              and r["status"] == "ok"), None)
    if q is not None or any(r["model"] == "lga_mobilenet" for r in res.precision):
        ok = None if q is None else (q["speedup"] >= 1.5 and bool(q["bound_met"]))
        out.append({"target": "lga_mobilenet 512x1024: INT8 speed-up over fp32 on ort, accuracy bound met",
                    "goal": ">= 1.5x (aim 2x)", "value": None if q is None else q["speedup"], "met": ok,
                    "note": "" if q is None else f"{q['metric']} drop {q['drop']:+.4f} (bound {q['max_drop']:g})"})
    best = [m for m in (_find(res.models, "lga_mobilenet", rt, "512x1024") for rt in ("ort", "openvino")) if m]
    if best:
        fast = min(best, key=lambda m: m.median_ms)
        out.append({"target": f"lga_mobilenet 512x1024 share of the MatMul ceiling on the faster runtime "
                              f"({fast.runtime})",
                    "goal": ">= 0.40", "value": fast.ceiling_ratio,
                    "met": None if fast.ceiling_ratio is None else fast.ceiling_ratio >= 0.40, "note": ""})
    return out


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _note_ref(reason: str, notes: dict[str, int]) -> str:
    """A long note becomes a numbered footnote below the table (tables stay readable; nothing is cut)."""
    if not reason:
        return ""
    if len(reason) <= 40:
        return reason
    return f"[{notes.setdefault(reason, len(notes) + 1)}]"


def _notes(notes: dict[str, int]) -> list[str]:
    out = ["", *(f"[{k}] {text}  " for text, k in notes.items())] if notes else []
    notes.clear()
    return out


def format_markdown(res: BenchResult) -> str:
    meta = res.meta
    notes: dict[str, int] = {}
    status = "" if meta.get("complete", True) else (
        "**INCOMPLETE**: this run was interrupted; the tables hold the cases measured before it stopped.")
    out = ["# edgeattn benchmark", "", *([status, ""] if status else []),
           f"Machine: {meta['cpu']}, {meta['logical_cpus']} logical CPUs; {meta['threads']} threads for every "
           f"backend; warm-up {meta['warmup']}, up to {meta['iters']} timed runs or {meta['budget_s']} s per case. "
           f"Tools: {', '.join(f'{k} {v}' for k, v in meta['tools'].items())}.", "",
           "## Compute ceiling (fp32 MatMul)", ""]
    out += _table(["runtime", "n", "median ms", "GFLOP/s"],
                  [[rt, str(c.get("n", "-")), _f(c.get("median_ms"), ".2f"), _f(c.get("gflops"))]
                   for rt, c in res.ceilings.items()])
    if res.models:
        out += ["", "## Models", "",
                "Latency of one image (batch 1); peak = RSS increase for load + first inference (eager: first "
                "inference); MACs from the ONNX graph (Conv, MatMul, Gemm); speed-up = eager median / median.", ""]
        rows = []
        for m in res.models:
            eager = _find(res.models, m.name, "torch", m.size)
            speed = eager.median_ms / m.median_ms if (eager and m.status == "ok" and m.median_ms) else None
            rows.append([m.name, m.size, m.runtime, m.status if m.status != "ok" else "ok", _f(m.median_ms),
                         _f(m.p90_ms), _f(m.min_ms), _f(m.fps, ".2f"), _f(m.peak_mib, ".0f"),
                         _f(m.params / 1e6 if m.params else None, ".2f"),
                         _f(m.macs_onnx / 1e9 if m.macs_onnx else None, ".2f"),
                         _f(m.gflops), _f(m.ceiling_ratio * 100 if m.ceiling_ratio is not None else None, ".0f"),
                         _f(speed, ".2f"), _note_ref(m.reason, notes)])
        out += _table(["model", "input", "runtime", "status", "median ms", "p90 ms", "min ms", "FPS", "peak MiB",
                       "params M", "GMACs", "GFLOP/s", "% ceiling", "speed-up", "note"], rows)
        out += _notes(notes)
    if res.modules:
        out += ["", f"## Attention modules (C={meta['channels']}, batch 1)", "",
                "torch = PyTorch eager on the reference path (MACs by torch.utils.flop_counter); ort/openvino = the "
                "exported export path (MACs from the ONNX graph).", ""]
        rows = [[m.name, m.size, m.runtime, m.path, m.status, _f(m.median_ms, ".2f"), _f(m.p90_ms, ".2f"),
                 _f(m.peak_mib, ".0f"), _f(m.macs_eager / 1e6 if m.macs_eager else None, ".0f"),
                 _f(m.macs_onnx / 1e6 if m.macs_onnx else None, ".0f"), _f(m.gflops), _note_ref(m.reason, notes)]
                for m in res.modules]
        out += _table(["module", "feature map", "runtime", "path", "status", "median ms", "p90 ms", "peak MiB",
                       "MMACs (eager ref)", "MMACs (ONNX)", "GFLOP/s", "note"], rows)
        out += _notes(notes)
        out += ["", "Fitted exponent alpha (latency ~ pixels^alpha):", ""]
        out += _table(["module", "runtime", "alpha", "sizes"],
                      [[a["module"], a["runtime"], _f(a["alpha"], ".2f") if a["alpha"] is not None
                        else "- " + _note_ref(a.get("reason", ""), notes), ", ".join(a["sizes"])]
                       for a in res.alphas])
        out += _notes(notes)
    if res.precision:
        out += ["", "## INT8 vs fp32 (ONNX Runtime, timed interleaved in this run; task metric on held-out data)", ""]
        out += _table(["model", "size", "weights", "fp32 ms", "int8 ms", "speed-up", "metric", "fp32", "int8", "drop",
                       "bound", "float blocks", "calibration", "status"],
                      [[r["model"], r["size"], r["weights"], _f(r["fp32_ms"]), _f(r["int8_ms"]),
                        _f(r["speedup"], ".2f"), r["metric"], _f(r["fp32_metric"], ".4f"), _f(r["int8_metric"], ".4f"),
                        _f(r["drop"], "+.4f"), "-" if r["bound_met"] is None else ("met" if r["bound_met"] else
                                                                                   "MISSED"),
                        ",".join(r["keep_float_blocks"] or []) or "-", r["calibration"],
                        r["status"] + (f": {r['reason']}" if r["reason"] else "")] for r in res.precision])
    out += ["", "## Targets", ""]
    out += _table(["target", "goal", "measured", "met"],
                  [[t["target"], t["goal"], _f(t["value"], ".2f"),
                    {True: "yes", False: "**no**", None: "n/a"}[t["met"]] + (f" ({t['note']})" if t["note"] else "")]
                   for t in targets(res)])
    return "\n".join(out) + "\n"


def _log_ticks(axis) -> None:  # noqa: ANN001 - a matplotlib Axis
    """Label 1-2-5 steps on a log axis: with data spanning less than two decades matplotlib would show two ticks."""
    from matplotlib.ticker import LogLocator, ScalarFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    axis.set_major_formatter(fmt)


def _png(fig) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def plot_sweep(res: BenchResult) -> bytes | None:
    """Latency vs pixels, log-log, one line per module and runtime (one panel per runtime)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runtimes = list(dict.fromkeys(m.runtime for m in res.modules))
    if not runtimes:
        return None
    fig, axes = plt.subplots(1, len(runtimes), figsize=(5 * len(runtimes), 4), squeeze=False, sharey=True)
    for ax, rt in zip(axes[0], runtimes):
        for name in dict.fromkeys(m.name for m in res.modules):
            pts = sorted((m.pixels, m.median_ms) for m in res.modules if m.name == name and m.runtime == rt
                         and m.status == "ok")
            if pts:
                ax.plot(*zip(*pts), marker="o", label=name)
        ax.set(xscale="log", yscale="log", xlabel="feature-map pixels", title=f"{rt}")
        _log_ticks(ax.yaxis)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("median latency (ms)")
    # outside the axes, so the legend never covers a line
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    data = _png(fig)
    plt.close(fig)
    return data


def plot_models(res: BenchResult) -> bytes | None:
    """Median latency per runtime for each model (grouped bars, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys((m.name, m.size) for m in res.models))
    runtimes = list(dict.fromkeys(m.runtime for m in res.models))
    if not cases:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cases) * len(runtimes) / 2), 4))
    width = 0.8 / len(runtimes)
    for k, rt in enumerate(runtimes):
        vals = [(_find(res.models, n, rt, s) or Measurement("", "", "", "", 0, "")).median_ms or 0 for n, s in cases]
        ax.bar([i + k * width for i in range(len(cases))], vals, width, label=rt)
    ax.set_xticks([i + width * (len(runtimes) - 1) / 2 for i in range(len(cases))],
                  [f"{n}\n{s}" for n, s in cases], rotation=45, ha="right", fontsize=7)
    ax.set(ylabel="median latency (ms)", yscale="log")
    _log_ticks(ax.yaxis)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    data = _png(fig)
    plt.close(fig)
    return data


def write_reports(res: BenchResult, folder: Path, plots: bool = True) -> list[Path]:
    folder = Path(folder)
    doc = {**res.to_dict(), "targets": targets(res)}
    paths = [atomic_write_text(folder / "results.json", json.dumps(doc, indent=2, sort_keys=True) + "\n"),
             atomic_write_text(folder / "results.md", format_markdown(res))]
    if plots:
        for name, fn in (("sweep.png", plot_sweep), ("models.png", plot_models)):
            data = fn(res)
            if data:
                paths.append(atomic_write_bytes(folder / name, data))
    return paths
