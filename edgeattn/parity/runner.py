"""The parity job behind `python -m edgeattn.parity`: models x sizes x runtimes against PyTorch.

For every model and size: build the model (export path, seeded), make deterministic inputs, run PyTorch in fp32
and fp64, export the static ONNX graph the export job would write, and compare every requested runtime's output
with PyTorch's (`compare`). A failed row is localised (`localise`) to the first diverging module.

Runtime `torch` is the reference row: PyTorch fp32 on this host, what the other rows are compared against; its
row only reports the fp32 floor (|fp32 - fp64|) and has status `reference` (so `--runtimes torch` alone is
refused: nothing would be compared). Checking on another host is what bundles are for: export one and run
`python -m edgeattn.verify BUNDLE` there (the old --save-reference/--load-reference re-exported the model and
judged files that were never shipped; they are gone).
"""

from __future__ import annotations

import copy
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ExportError, InvalidOptionError, unknown
from ..export.config import ExportConfig
from ..export.graph import export_graph, write_graph
from ..export.validate import check_opset
from ..models import check_input_size, get_model_spec, list_models
from ..runtimes import RuntimeOptions, TorchRuntime, load_runtime, runtime_class, runtime_names
from .._resources import check_memory
from ..data.inputs import make_inputs
from ..verify.compare import Comparison, compare, unavailable
from ..bundle.tolerances import PRECISIONS, TOLERANCES, tolerance_for
from .localise import localise
from ..cli import RUNTIME_ALIASES, check_range, check_threads

__all__ = ["ParityConfig", "ParityRow", "Plan", "ALIASES", "validate", "run"]

Progress = Callable[[str], None]
ALIASES = RUNTIME_ALIASES  # the one runtime vocabulary (edgeattn/cli.py)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ParityConfig:
    models: tuple[str, ...] = ()  # empty or ("all",): every registered model
    runtimes: tuple[str, ...] = ("torch", "ort", "openvino")
    sizes: tuple[tuple[int, int], ...] = ()  # empty: each model's default size
    scale: float = 1.0  # with no --sizes: the default size times this (rounded to a multiple of 32)
    precision: str = "fp32"
    threads: int | None = None
    batch: int | None = None  # None: 1
    seed: int | None = None  # None: 0
    output: Path = Path("parity-report")
    localise: bool = True
    opset: int = 17


@dataclass
class ParityRow:
    model: str
    comparison: Comparison
    localisation: dict | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = {"model": self.model, **self.comparison.to_dict(), "localisation": self.localisation}
        if self.comparison.status == "reference":
            d["passed"] = None  # the reference row is what the others are judged against: not a pass or a fail
        return d


@dataclass
class Plan:
    models: list[str]
    sizes: dict[str, list[tuple[int, int]]]
    seed: int
    batch: int
    notes: list[str] = field(default_factory=list)


def _label(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _scaled(size: tuple[int, int], scale: float, min_size: int) -> tuple[int, int]:
    return tuple(max(min_size, int(round(s * scale / 32)) * 32) for s in size)  # type: ignore[return-value]


def validate(config: ParityConfig) -> Plan:
    """Check every option before any work starts."""
    if config.precision not in PRECISIONS:
        raise unknown("precision", config.precision, PRECISIONS)
    names = ["torch", *[n for n in runtime_names() if n != "torch"]]
    for r in config.runtimes:
        r = ALIASES.get(r, r)
        if r not in names:
            raise unknown("runtime", r, names)
    if not config.runtimes:
        raise InvalidOptionError("--runtimes is empty: name at least one of " + ", ".join(names))
    if {ALIASES.get(r, r) for r in config.runtimes} == {"torch"}:
        raise InvalidOptionError("--runtimes torch alone compares nothing (torch is the reference); add ort, "
                                 "openvino, reference or tensorrt")
    check_threads(config.threads)  # 1..4 x the CPUs here (edgeattn/cli.py)
    if config.batch is not None and config.batch < 1:
        raise InvalidOptionError(f"--batch must be >= 1, got {config.batch}")
    if not 0 < config.scale <= 4:
        raise InvalidOptionError(f"--scale must be in (0, 4], got {config.scale}")
    if config.seed is not None:
        check_range(config.seed, "--seed", 0, 2**32 - 1, why=" (numpy and torch seeds)")
    models = list(config.models)
    if models == ["all"] or not models:
        models = list_models()
    for m in models:
        check_opset(config.opset, get_model_spec(m))  # parity exports with torchscript, for no target
    seed = config.seed if config.seed is not None else 0
    batch = config.batch if config.batch is not None else 1
    sizes: dict[str, list[tuple[int, int]]] = {}
    for m in models:
        spec = get_model_spec(m)
        if config.sizes:
            sizes[m] = [check_input_size(spec, s) for s in config.sizes]
        else:
            sizes[m] = [check_input_size(spec, _scaled(spec.default_size, config.scale, spec.min_size))]
        for h, w in sizes[m]:
            check_memory(f"parity of {m}", batch, h, w, sum(i.channels for i in spec.inputs),
                         "choose smaller --sizes/--scale or --batch", spec.attention, spec.attention_stride)
    return Plan(models=models, sizes=sizes, seed=seed, batch=batch)


def _torch_row(expected: np.ndarray, exact: np.ndarray) -> Comparison:
    """PyTorch fp32 is the reference: its row reports its own fp32 floor only."""
    floor = np.abs(expected.astype(np.float64) - exact.astype(np.float64))
    return Comparison(runtime="torch", status="reference", precision="fp32", max_abs_err=float(floor.max()),
                      mean_abs_err=float(floor.mean()), p99_abs_err=float(np.quantile(floor, 0.99)),
                      fp32_floor=float(floor.max()),
                      reason="the reference itself; errors are PyTorch fp32 vs fp64 on this host")


def run(config: ParityConfig, progress: Progress = _stderr, *,
        graph_hook: Callable | None = None) -> tuple[Plan, list[ParityRow]]:
    """Run the whole job; `graph_hook(model_name, proto) -> proto` lets tests break an export on purpose."""
    import time

    from ..export.pipeline import _build_model

    plan = validate(config)
    rows: list[ParityRow] = []
    for model_name in plan.models:
        spec = get_model_spec(model_name)
        names = [i.name for i in spec.inputs]
        model = _build_model(ExportConfig(model=model_name, seed=plan.seed))
        torch_rt = TorchRuntime(model, names, threads=config.threads)
        exact_rt = TorchRuntime(copy.deepcopy(model).double(), names, threads=config.threads, dtype=torch.float64)
        for size in plan.sizes[model_name]:
            label = _label(size)
            progress(f"{model_name} {label}: PyTorch fp32/fp64")
            feeds = make_inputs(spec, plan.batch, *size, seed=plan.seed)
            expected, exact = torch_rt.infer(feeds), exact_rt.infer(feeds)
            if not (np.isfinite(expected).all() and np.isfinite(exact).all()):
                raise ExportError(f"{model_name} outputs NaN/Inf in PyTorch at {label}: no reference to compare with")
            progress(f"{model_name} {label}: exporting ONNX")
            proto = export_graph(model, spec, feeds, opset=config.opset)
            if graph_hook is not None:
                proto = graph_hook(model_name, proto)
            with tempfile.TemporaryDirectory(prefix="edgeattn-parity-") as tmp:
                onnx_path = write_graph(proto, Path(tmp) / "model.onnx")
                for rt_name in [ALIASES.get(r, r) for r in config.runtimes]:
                    t0 = time.perf_counter()
                    if rt_name == "torch":
                        row = _torch_row(expected, exact)
                        row.size = label
                        rows.append(ParityRow(model_name, row, seconds=time.perf_counter() - t0))
                        continue
                    row, loc = _runtime_row(rt_name, onnx_path, feeds, expected, exact, spec.task, config, progress,
                                            f"{model_name} {label}")
                    if loc is not None and row.status == "failed" and config.localise:
                        progress(f"{model_name} {label}: localising the failure on {rt_name}")
                        thr = tolerance_for(row.precision, rt_name).max_abs
                        div = localise(model, proto, rt_name, feeds, names, loc, thr, Path(tmp))
                        row.reason = f"{row.reason}; {div.summary()}"
                        rows.append(ParityRow(model_name, row, div.to_dict(), time.perf_counter() - t0))
                    else:
                        rows.append(ParityRow(model_name, row, seconds=time.perf_counter() - t0))
                    row.size = label
    return plan, rows


def _runtime_row(name: str, onnx_path: Path, feeds: dict, expected: np.ndarray, exact: np.ndarray, task: str,
                 config: ParityConfig, progress: Progress, what: str) -> tuple[Comparison, RuntimeOptions | None]:
    cls = runtime_class(name)
    ok, why = cls.available()
    if not ok:
        return unavailable(name, why, config.precision), None
    if config.precision not in cls.precisions:
        return unavailable(name, f"{name} on this host computes in {', '.join(cls.precisions)} only, not "
                           f"{config.precision}", config.precision), None
    if (config.precision, name) not in TOLERANCES:
        return unavailable(name, f"no tolerance for {config.precision}/{name} in the tolerance table "
                           "(edgeattn/bundle/tolerances.py)",
                           config.precision), None
    options = RuntimeOptions(threads=config.threads, precision=config.precision)
    progress(f"{what}: {name} ({config.precision})")
    try:
        rt = load_runtime(name, onnx_path, options)
        try:
            got = rt.infer(feeds)
        finally:
            rt.close()
    except Exception as exc:  # noqa: BLE001 - a runtime that cannot load or run the graph is a failed row
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return Comparison(runtime=name, status="failed", precision=config.precision,
                          reason=f"{name} could not run the graph: {type(exc).__name__}: {first}"), None
    return compare(expected, got, runtime=name, precision=config.precision, task=task, exact=exact), options
