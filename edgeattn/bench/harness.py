"""The benchmark job behind `python -m edgeattn.bench`.

Models: per model x size, the export-path model exported (static ONNX, as `edgeattn.export` writes it) and
timed on PyTorch eager (the same export-path module) and on each runtime, with parameters, ONNX MACs,
effective GFLOP/s and the ratio to the MatMul ceiling of that runtime measured in the same run.
Modules: a resolution sweep over the attention registry at C channels: PyTorch eager on the reference path
(MACs counted by torch.utils.flop_counter), ONNX Runtime and OpenVINO on the exported export path (MACs
counted from the ONNX graph), peak memory, and the fitted exponent alpha of latency ~ pixels^alpha.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..cli import check_range, check_threads
from ..errors import InvalidOptionError, unknown
from ..export.config import ExportConfig
from ..export.graph import export_graph, write_graph
from ..export.onnx import export_onnx
from ..export.simplify import simplify
from .._resources import check_memory
from ..models import check_input_size, get_model_spec, list_models
from ..nn import build_attention, get_attention, list_attention
from ..data.inputs import make_inputs
from .ceiling import measure_ceiling
from .macs import count_macs
from .memory import peak_rss_delta
from .progress import ProgressBar
from .runners import BENCH_RUNTIMES, KNOWN_RUNTIMES, check_runtime, eager_step, load_step
from .timer import measure

__all__ = ["BenchConfig", "Measurement", "BenchResult", "validate", "run", "fit_alpha", "case_line", "SWEEP_SIZES"]

SWEEP_SIZES = ((32, 32), (64, 64), (64, 128), (128, 256))
#: --budget: a day per case at most (docs/limits.md)
MAX_BUDGET_S = 86_400.0


@dataclass(frozen=True)
class BenchConfig:
    models: tuple[str, ...] = ()  # empty: all registered models
    runtimes: tuple[str, ...] = BENCH_RUNTIMES
    sizes: tuple[tuple[int, int], ...] = ()  # empty: each model's default size
    threads: int = 2
    warmup: int = 2
    iters: int = 20
    budget_s: float | None = 10.0  # per measurement; None: exactly `iters`
    output: Path = Path("bench-report")
    run_models: bool = True
    sweep: bool = True
    modules: tuple[str, ...] = ()  # empty: every registered attention module
    sweep_sizes: tuple[tuple[int, int], ...] = SWEEP_SIZES
    channels: int = 128
    alpha_min_pixels: int = 64 * 64  # alpha is fitted on feature maps with at least this many pixels
    ceiling_n: int = 2048
    plots: bool = True
    seed: int = 0
    precisions: tuple[str, ...] = ("fp32",)  # with "int8": INT8 vs fp32 on ORT, interleaved (bench/precision.py)
    checkpoint_dir: Path | None = None  # <model>.pt for models without shipped weights (int8 rows)


@dataclass
class Measurement:
    kind: str  # model | module
    name: str
    runtime: str
    size: str  # HxW of the model input, or of the module's feature map
    pixels: int
    path: str  # computation path timed: export | reference
    status: str = "ok"  # ok | unavailable | error
    reason: str = ""
    median_ms: float | None = None
    p90_ms: float | None = None
    min_ms: float | None = None
    fps: float | None = None
    iters: int = 0
    peak_mib: float | None = None
    params: int | None = None
    macs_onnx: int | None = None
    macs_eager: int | None = None
    gflops: float | None = None
    ceiling_ratio: float | None = None


@dataclass
class BenchResult:
    meta: dict
    ceilings: dict[str, dict] = field(default_factory=dict)
    models: list[Measurement] = field(default_factory=list)
    modules: list[Measurement] = field(default_factory=list)
    alphas: list[dict] = field(default_factory=list)
    precision: list[dict] = field(default_factory=list)  # INT8 vs fp32 rows (bench/precision.py PrecisionRow)

    def to_dict(self) -> dict:
        return {"meta": self.meta, "ceilings": self.ceilings, "models": [asdict(m) for m in self.models],
                "modules": [asdict(m) for m in self.modules], "alphas": self.alphas, "precision": self.precision}


def _label(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def validate(config: BenchConfig) -> tuple[list[str], list[str]]:
    for r in config.runtimes:
        if r not in KNOWN_RUNTIMES:
            raise unknown("runtime", r, KNOWN_RUNTIMES)
    if config.threads < 1 or config.iters < 1 or config.warmup < 0:
        raise InvalidOptionError("--threads and --iters must be >= 1 and --warmup >= 0")
    if config.iters > 100_000 or config.warmup > 10_000 or config.channels > 4096 or config.ceiling_n > 16384:
        raise InvalidOptionError("--iters at most 100000, --warmup 10000, --channels 4096, --ceiling-size 16384")
    check_threads(config.threads)  # at most 4 x the CPUs here (edgeattn/cli.py)
    if config.budget_s is not None:  # NaN and infinities too (a NaN budget never stopped a case)
        check_range(config.budget_s, "--budget", 0.0, MAX_BUDGET_S, low_open=True,
                    why=" seconds per case (or 0 on the command line: always --iters)")
    if not set(config.precisions) <= {"fp32", "int8"} or "fp32" not in config.precisions:
        raise InvalidOptionError(f"--precisions must be fp32 or fp32,int8, got {','.join(config.precisions)}")
    if config.channels < 8:
        raise InvalidOptionError(f"--channels must be >= 8, got {config.channels}")
    models = list(config.models) if config.models and config.models != ("all",) else list_models()
    for m in models:
        spec = get_model_spec(m)
        for s in config.sizes:
            check_input_size(spec, s)
            check_memory(f"benchmarking {m}", 1, s[0], s[1], sum(i.channels for i in spec.inputs),
                         "choose smaller --sizes", spec.attention, spec.attention_stride)
    modules = list(config.modules) if config.modules and config.modules != ("all",) else list_attention()
    for m in modules:
        attention = get_attention(m)
        if config.sweep:
            for h, w in config.sweep_sizes:  # feature maps in fp32: the attention's maps (softmax in and out)
                _check_sweep_memory(m, attention.map_elements(1, h, w) * 2 * 4 + h * w * config.channels * 4 * 4,
                                    (h, w))
    return (models if config.run_models else []), (modules if config.sweep else [])


def _check_sweep_memory(module: str, need: int, size: tuple[int, int]) -> None:
    from .._resources import HEADROOM, available_memory, human_bytes
    from ..errors import ResourceError

    have = available_memory()
    if have is not None and need * HEADROOM > have:
        raise ResourceError(f"the {module} sweep at {size[0]}x{size[1]} needs at least {human_bytes(need)} (its "
                            f"attention maps), and at most 1/{HEADROOM} of the {human_bytes(have)} available may be "
                            "taken; choose smaller --sweep-sizes or leave that module out (--modules)")


def _meta(config: BenchConfig) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    tools = {}
    for pkg in ("torch", "onnxruntime", "openvino"):
        try:
            tools[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"edgeattn": __version__, "python": sys.version.split()[0], "cpu": cpu, "logical_cpus": os.cpu_count(),
            "threads": config.threads, "warmup": config.warmup, "iters": config.iters, "budget_s": config.budget_s,
            "channels": config.channels, "tools": tools}


def _time_on(m: Measurement, runtime: str, module: torch.nn.Module | None, onnx_path: Path | None,
             feeds: dict[str, np.ndarray], names: list[str], config: BenchConfig) -> None:
    """Fill timing and memory of `m` for one runtime; errors are recorded, not raised."""
    why = check_runtime(runtime)
    if why:
        m.status, m.reason = "unavailable", why
        return
    rt = None
    try:
        if runtime == "torch":
            step = eager_step(module, [feeds[n] for n in names], config.threads)
            _, m.peak_mib = peak_rss_delta(step)
        else:
            def load_first() -> tuple:
                loaded = load_step(runtime, onnx_path, feeds, config.threads)
                loaded[1]()
                return loaded

            (rt, step), m.peak_mib = peak_rss_delta(load_first)
        t = measure(step, warmup=config.warmup, iters=config.iters, budget_s=config.budget_s)
        m.median_ms, m.p90_ms, m.min_ms, m.fps, m.iters = t.median_ms, t.p90_ms, t.min_ms, t.fps, t.iters
    except Exception as exc:  # noqa: BLE001 - one failing case must not stop a long benchmark
        m.status, m.reason = "error", f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"
    finally:
        if rt is not None:
            rt.close()


def _efficiency(m: Measurement, ceilings: dict[str, dict]) -> None:
    if m.status == "ok" and m.macs_onnx and m.median_ms:
        m.gflops = 2.0 * m.macs_onnx / (m.median_ms * 1e-3) / 1e9
        ceiling = ceilings.get(m.runtime, {}).get("gflops")
        m.ceiling_ratio = m.gflops / ceiling if ceiling else None


def _bench_models(models: list[str], config: BenchConfig, ceilings: dict, work: Path, bar: ProgressBar,
                  out: list[Measurement], saved: Callable[[], None]) -> None:
    from ..export.pipeline import _build_model

    for name in models:
        spec = get_model_spec(name)
        names = [i.name for i in spec.inputs]
        model = _build_model(ExportConfig(model=name, seed=config.seed))
        params = sum(p.numel() for p in model.parameters())
        for size in config.sizes or (spec.default_size,):
            feeds = make_inputs(spec, 1, *size, seed=config.seed)
            bar.describe(f"{name} {_label(size)}: export")
            try:
                proto = export_graph(model, spec, feeds)
                path, macs = write_graph(proto, work / f"{name}.onnx"), count_macs(proto).total
            except Exception as exc:  # noqa: BLE001
                path, macs, err = None, None, f"export failed: {type(exc).__name__}: {str(exc)[:200]}"
            for rt in config.runtimes:
                bar.describe(f"{name} {_label(size)}: {rt}")
                m = Measurement("model", name, rt, _label(size), size[0] * size[1], "export", params=params,
                                macs_onnx=macs)
                if path is None and rt != "torch":
                    m.status, m.reason = "error", err
                else:
                    _time_on(m, rt, model, path, feeds, names, config)
                _efficiency(m, ceilings)
                out.append(m)
                saved()
                bar.report(case_line(m))
                bar.advance()


def _eager_macs(module: torch.nn.Module, x: torch.Tensor) -> int | None:
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            module(x)
        return int(counter.get_total_flops() // 2)
    except Exception:  # noqa: BLE001 - an op the counter cannot see: leave the figure out
        return None


def _bench_modules(modules: list[str], config: BenchConfig, ceilings: dict, work: Path, bar: ProgressBar,
                   out: list[Measurement], saved: Callable[[], None]) -> None:
    rng = np.random.default_rng(config.seed)
    for name in modules:
        spec = get_attention(name)
        with torch.random.fork_rng():
            torch.manual_seed(config.seed)
            ref = build_attention(name, config.channels, path="reference").eval()
            exp = build_attention(name, config.channels, path="export").eval()
        exp.load_state_dict(ref.state_dict())
        params = sum(p.numel() for p in ref.parameters())
        for size in config.sweep_sizes:
            label = _label(size)
            feeds = {"x": rng.standard_normal((1, config.channels, *size), dtype=np.float32)}
            rows = [Measurement("module", name, rt, label, size[0] * size[1],
                                "reference" if rt == "torch" else "export", params=params) for rt in config.runtimes]
            if min(size) < spec.min_size:
                for m in rows:
                    m.status, m.reason = "unavailable", f"feature map below the module's minimum {spec.min_size}"
                out += rows
                bar.advance(len(rows))
                continue
            bar.describe(f"{name} {label}: export + MACs")
            path, macs, err = None, None, ""
            try:
                proto = simplify(export_onnx(exp, (torch.from_numpy(feeds["x"]),), input_names=["x"], output_name="y",
                                             opset=17, dynamic=False, exporter="torchscript"), "onnxslim")
                path, macs = write_graph(proto, work / f"{name}.onnx"), count_macs(proto).total
            except Exception as exc:  # noqa: BLE001
                err = f"export failed: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"
            eager_macs = _eager_macs(ref, torch.from_numpy(feeds["x"])) if "torch" in config.runtimes else None
            for m in rows:
                bar.describe(f"{name} {label}: {m.runtime}")
                m.macs_onnx, m.macs_eager = macs, eager_macs
                if path is None and m.runtime != "torch":
                    m.status, m.reason = "error", err
                else:
                    _time_on(m, m.runtime, ref, path, feeds, ["x"], config)
                if m.runtime == "torch" and m.macs_eager:  # the reference path's own work
                    m.macs_onnx, onnx_macs = m.macs_eager, m.macs_onnx
                    _efficiency(m, ceilings)
                    m.macs_onnx = onnx_macs
                else:
                    _efficiency(m, ceilings)
                out.append(m)
                saved()
                bar.report(case_line(m))
                bar.advance()


def case_line(m: Measurement) -> str:
    """One finished case as the terminal shows it: '<name> <size> <runtime>: 12.3 ms (p90 13.0, 81 FPS)'."""
    head = f"{m.name} {m.size} {m.runtime}"
    if m.status != "ok" or m.median_ms is None:
        return f"{head}: {m.status} ({m.reason})" if m.reason else f"{head}: {m.status}"
    p90 = f"p90 {m.p90_ms:.1f}, " if m.p90_ms is not None else ""
    return f"{head}: {m.median_ms:.1f} ms ({p90}{m.fps:.1f} FPS)" if m.fps else f"{head}: {m.median_ms:.1f} ms"


def _bench_int8(models: list[str], config: BenchConfig, out: list[dict], saved: Callable[[], None]) -> None:
    from .precision import PrecisionRow, bench_precision

    for name in models:
        for size in config.sizes or (get_model_spec(name).default_size,):
            try:
                row = bench_precision(name, size, threads=config.threads, warmup=config.warmup, iters=config.iters,
                                      budget_s=config.budget_s, checkpoint_dir=config.checkpoint_dir,
                                      seed=config.seed)
            except Exception as exc:  # noqa: BLE001 - one failing case must not stop a long benchmark
                row = PrecisionRow(name, _label(size), "ort", "", status="error",
                                   reason=f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}")
            out.append(row.to_dict())
            saved()


def fit_alpha(pixels: list[int], latency_ms: list[float]) -> float | None:
    """Least-squares slope of log(latency) against log(pixels): latency ~ pixels^alpha."""
    if len(set(pixels)) < 2:
        return None
    slope, _ = np.polyfit(np.log(np.asarray(pixels, float)), np.log(np.asarray(latency_ms, float)), 1)
    return float(slope)


def _alphas(rows: list[Measurement], min_pixels: int) -> list[dict]:
    out = []
    for name in dict.fromkeys(m.name for m in rows):
        for rt in dict.fromkeys(m.runtime for m in rows):
            pts = [(m.pixels, m.median_ms, m.size) for m in rows if m.name == name and m.runtime == rt
                   and m.status == "ok" and m.pixels >= min_pixels]
            alpha = fit_alpha([p for p, _, _ in pts], [t for _, t, _ in pts])
            reason = "" if alpha is not None else (
                f"needs measurements at >= 2 feature maps of >= {min_pixels} pixels; this run has "
                f"{len({p for p, _, _ in pts})} (add --sweep-sizes such as 64x64,128x128,256x256)")
            out.append({"module": name, "runtime": rt, "alpha": alpha, "sizes": [s for _, _, s in pts],
                        "reason": reason})
    return out


def run(config: BenchConfig, progress: Callable[[str], None] | None = None,
        on_update: Callable[[BenchResult], None] | None = None) -> BenchResult:
    """Run the benchmark; `on_update(partial result)` is called after every case (the CLI saves it, so an
    interrupted run keeps the cases done so far; `meta["complete"]` is False until the end)."""
    models, modules = validate(config)
    result = BenchResult(meta=_meta(config))
    n_model = sum(len(config.sizes or (get_model_spec(m).default_size,)) for m in models) * len(config.runtimes)
    total = len(config.runtimes) + n_model + len(modules) * len(config.sweep_sizes) * len(config.runtimes)
    with tempfile.TemporaryDirectory(prefix="edgeattn-bench-") as tmp, ProgressBar(total, progress) as bar:
        work = Path(tmp)
        for rt in config.runtimes:
            bar.describe(f"MatMul ceiling ({config.ceiling_n}^3) on {rt}")
            why = check_runtime(rt)
            if why:
                result.ceilings[rt] = {"gflops": None, "reason": why}
            else:
                gflops, t = measure_ceiling(rt, work, n=config.ceiling_n, threads=config.threads,
                                            warmup=config.warmup, iters=config.iters, budget_s=config.budget_s)
                result.ceilings[rt] = {"gflops": gflops, "n": config.ceiling_n, **t.to_dict()}
            bar.advance()
        result.meta["complete"] = False

        def saved() -> None:
            if on_update is not None:
                result.alphas = _alphas(result.modules, config.alpha_min_pixels)
                on_update(result)

        _bench_models(models, config, result.ceilings, work, bar, result.models, saved)
        _bench_modules(modules, config, result.ceilings, work, bar, result.modules, saved)
        if "int8" in config.precisions:
            _bench_int8(models, config, result.precision, saved)
        result.meta["complete"] = True
        bar.finish()
    result.alphas = _alphas(result.modules, config.alpha_min_pixels)
    return result
