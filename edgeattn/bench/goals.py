"""The goal ratios: edgeattn's export paths against the routes a user could take instead, measured
interleaved in one process (`python -m edgeattn.bench --goals`).

Every group of candidates is timed round-robin: each round runs every candidate once, with a short pause
between candidates (ONNX Runtime's pool keeps spinning after a run), after `warmup` untimed rounds. Ratios
are taken between candidates of the same group, so load on a shared machine shifts both sides alike; each
ratio is reported as the ratio of medians with the range of the per-round ratios (the spread).

Groups (C = `channels`, fp32, batch 1):
* criss-cross (R=2) at each of `cc_sizes`: the export path (TorchScript ONNX, as edgeattn.export writes it)
  on ORT and OpenVINO vs CCNet-style RCCA (`anchors.CCNetRCCA`) by every route: TorchScript ONNX, dynamo
  ONNX, and on OpenVINO also `convert_model` of the module and of `torch.export`. Goal: best route / ours
  >= 1.7 on ORT, >= 2 on OpenVINO. Timed beside them: the export path's GEMMs alone (`anchors.gemm_floor`),
  the ratio the export path would reach if every op but its MatMul/Gemm nodes were free (`ceiling`).
* LGA at every one of `lga_sizes`, all in one group (ORT, OpenVINO): alpha of latency ~ pixels^alpha
  <= 1.10 (spread: the alphas of single rounds); at the largest size, LGA / (3x3 depthwise + pointwise conv
  pair) <= 1.5.
* flow models at their default size: eager (both paths; the faster is the anchor), torch.compile of the
  export path, ORT, OpenVINO. Goals: ORT >= 1.5x eager and >= torch.compile; OpenVINO >= 2x eager.
* custom ops (`custom_model` at `custom_size`): the --custom-ops graph vs the standard-op graph per runtime;
  goal: custom / standard latency <= 1.0.
* native (`--goal-groups native`, bench/native_goals.py): the compiled custom-op kernels on OpenVINO against the
  standard-op graphs (ccnet_mobilenet 256x512, psal_inpaint 256x256) and CCNet's best route (module, 128x256),
  and their peak memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .anchors import (OPENVINO_DIRECT_ROUTES, CCNetRCCA, ConvPair, Step, floor_step, gemm_floor, onnx_route,
                      openvino_direct_step, runtime_step, torch_step)

__all__ = ["GoalConfig", "interleave", "run_goals", "merge_runs", "format_goals"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class GoalConfig:
    threads: int = 2
    rounds: int = 10
    warmup: int = 2
    pause_s: float = 0.05
    channels: int = 128
    cc_sizes: tuple[tuple[int, int], ...] = ((128, 256), (97, 203))
    lga_sizes: tuple[tuple[int, int], ...] = ((64, 64), (128, 128), (256, 256))
    flow_models: tuple[str, ...] = ("lga_flow", "flow_base")
    flow_size: tuple[int, int] | None = None  # None: each flow model's default size
    custom_model: str = "ccnet_mobilenet"
    custom_size: tuple[int, int] = (256, 512)
    runtimes: tuple[str, ...] = ("ort", "openvino")
    seed: int = 0
    native_sizes: tuple[tuple[int, int], ...] = ((256, 512), (128, 256), (256, 256))  # ccnet, module, psal (native)


def interleave(cands: dict[str, Callable[[], object]], rounds: int, warmup: int = 2,
               pause_s: float = 0.05) -> dict[str, list[float]]:
    """Round-robin timing: {name: [ms per round]}."""
    for _ in range(warmup):
        for fn in cands.values():
            fn()
    out: dict[str, list[float]] = {k: [] for k in cands}
    for _ in range(rounds):
        for name, fn in cands.items():
            time.sleep(pause_s)
            t0 = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0) * 1e3)
    return out


def _med(samples: list[float]) -> float:
    return float(np.median(samples))


def _ratio(num: list[float], den: list[float]) -> tuple[float, float, float]:
    """median(num) / median(den), and the min and max of the per-round ratios."""
    per_round = np.asarray(num) / np.asarray(den)
    return _med(num) / _med(den), float(per_round.min()), float(per_round.max())


def _row(goal: str, value: float | None, spread: tuple[float, float] | None, target: str, ok: bool | None,
         detail: str) -> dict:
    return {"goal": goal, "value": value, "spread": spread, "target": target, "met": ok, "detail": detail}


def _time_group(steps: dict[str, Step], config: GoalConfig) -> dict[str, list[float]]:
    try:
        return interleave({k: s.run for k, s in steps.items()}, config.rounds, config.warmup, config.pause_s)
    finally:
        for s in steps.values():
            s.close()


def _try(name: str, make: Callable[[], Step], steps: dict[str, Step], failed: dict[str, str]) -> None:
    try:
        step = make()
        step.run()  # a route that loads but cannot run counts as failed
        steps[name] = step
    except Exception as exc:  # noqa: BLE001 - a failing route is a result, recorded with its reason
        failed[name] = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"


def _criss_cross(config: GoalConfig, log: Log) -> list[dict]:
    from ..nn import CrissCrossAttention

    rows = []
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        ours = CrissCrossAttention(config.channels, recurrence=2).eval()
    with torch.no_grad():
        ours.gamma.fill_(0.5)  # a trained-like gamma; the timing does not depend on it
    anchor = CCNetRCCA(config.channels, recurrence=2).eval()
    anchor.load_state_dict(ours.state_dict())
    rng = np.random.default_rng(config.seed)
    for h, w in config.cc_sizes:
        label = f"{h}x{w}"
        log(f"goals: criss-cross {label}: exporting the export path and the reference routes")
        x = rng.standard_normal((1, config.channels, h, w), dtype=np.float32)
        example, feeds = (torch.from_numpy(x),), {"x": x}
        steps: dict[str, Step] = {}
        failed: dict[str, str] = {}
        ours_proto = onnx_route(ours, example, ["x"], "y", "torchscript")
        ref_protos: dict[str, object] = {}
        for exporter in ("torchscript", "dynamo"):
            try:
                ref_protos[exporter] = onnx_route(anchor, example, ["x"], "y", exporter)
            except Exception as exc:  # noqa: BLE001
                for rt in config.runtimes:
                    failed[f"ccnet {exporter} onnx/{rt}"] = f"export failed: {str(exc).splitlines()[0][:160]}"
        floor_proto, floor_feeds = gemm_floor(ours_proto, config.seed)
        for rt in config.runtimes:
            _try(f"edgeattn/{rt}", partial(runtime_step, rt, ours_proto, feeds, config.threads), steps, failed)
            _try(f"gemm floor/{rt}", partial(floor_step, rt, floor_proto, floor_feeds, config.threads), steps, failed)
            for exporter, proto in ref_protos.items():
                _try(f"ccnet {exporter} onnx/{rt}", partial(runtime_step, rt, proto, feeds, config.threads),
                     steps, failed)
        if "openvino" in config.runtimes:
            for via in OPENVINO_DIRECT_ROUTES:
                _try(f"ccnet {via}/openvino", partial(openvino_direct_step, anchor, example, config.threads, via),
                     steps, failed)
        log(f"goals: criss-cross {label}: timing {len(steps)} candidates x {config.rounds} rounds")
        t = _time_group(steps, config)
        for rt, goal in (("ort", 1.7), ("openvino", 2.0)):
            if rt not in config.runtimes:
                continue
            mine = t.get(f"edgeattn/{rt}")
            refs = {k: v for k, v in t.items() if k.endswith(f"/{rt}") and k.startswith("ccnet")}
            fails = "; ".join(f"{k.rsplit('/', 1)[0]} failed ({v})" for k, v in failed.items() if k.endswith(f"/{rt}"))
            if mine is None or not refs:
                rows.append(_row(f"criss-cross {label} {rt}: best CCNet route / export path", None, None,
                                 f">= {goal}", None, failed.get(f"edgeattn/{rt}", fails or "no reference route ran")))
                continue
            best = min(refs, key=lambda k: _med(refs[k]))
            value, lo, hi = _ratio(refs[best], mine)
            routes = ", ".join(f"{k.rsplit('/', 1)[0]} {_med(v):.1f} ms" for k, v in refs.items())
            floor = t.get(f"gemm floor/{rt}")
            bound = "" if floor is None else (
                f"; GEMM floor {_med(floor):.1f} ms (the export path's MatMul/Gemm nodes alone): with every other "
                f"op free the ratio would be {_med(refs[best]) / _med(floor):.2f}")
            row = _row(f"criss-cross {label} {rt}: best CCNet route / export path", value, (lo, hi), f">= {goal}",
                       value >= goal, f"export path {_med(mine):.1f} ms; routes: {routes}" + bound
                       + (f"; {fails}" if fails else ""))
            row["ceiling"] = None if floor is None else _med(refs[best]) / _med(floor)
            rows.append(row)
    return rows


def _fit_alpha(pixels: list[int], ms: list[float]) -> float | None:
    if len(set(pixels)) < 2:
        return None
    return float(np.polyfit(np.log(pixels), np.log(ms), 1)[0])


def _lga(config: GoalConfig, log: Log) -> list[dict]:
    """Every size and the conv pair in one interleaved group: the alpha fit compares sizes timed under the same
    conditions (on a shared VM, groups timed a minute apart differ by up to 2x), and its spread is the range of
    the alphas fitted to each round alone."""
    from ..models._init import init_weights
    from ..nn import LatentGraphAttention

    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        lga = LatentGraphAttention(config.channels, max(config.channels // 2, 8), depth=4).eval()
        pair = ConvPair(config.channels).eval()
        init_weights(lga)
    rng = np.random.default_rng(config.seed)
    largest = max(config.lga_sizes, key=lambda s: s[0] * s[1])
    big = f"{largest[0]}x{largest[1]}"
    steps: dict[str, Step] = {}
    failed: dict[str, str] = {}
    for size in config.lga_sizes:
        label = f"{size[0]}x{size[1]}"
        log(f"goals: LGA {label}: exporting")
        x = rng.standard_normal((1, config.channels, *size), dtype=np.float32)
        example, feeds = (torch.from_numpy(x),), {"x": x}
        protos = {f"lga {label}": onnx_route(lga, example, ["x"], "y", "torchscript")}
        if size == largest:
            protos["conv pair"] = onnx_route(pair, example, ["x"], "y", "torchscript")
        for rt in config.runtimes:
            for name, proto in protos.items():
                _try(f"{name}/{rt}", partial(runtime_step, rt, proto, feeds, config.threads), steps, failed)
    log(f"goals: LGA: timing {len(steps)} candidates x {config.rounds} rounds")
    t = _time_group(steps, config)
    rows = []
    for rt in config.runtimes:
        goal = f"LGA {big} {rt}: LGA block / 3x3 dw + pw conv pair"
        mine, pair_t = t.get(f"lga {big}/{rt}"), t.get(f"conv pair/{rt}")
        if mine is not None and pair_t is not None:
            value, lo, hi = _ratio(mine, pair_t)
            rows.append(_row(goal, value, (lo, hi), "<= 1.5", value <= 1.5,
                             f"LGA {_med(mine):.1f} ms, conv pair {_med(pair_t):.1f} ms"))
        else:
            rows.append(_row(goal, None, None, "<= 1.5", None,
                             "; ".join(f"{k} {v}" for k, v in failed.items()) or "not measured"))
    for rt in config.runtimes:
        pts = [(s[0] * s[1], t[f"lga {s[0]}x{s[1]}/{rt}"]) for s in config.lga_sizes if f"lga {s[0]}x{s[1]}/{rt}" in t]
        pixels = [p for p, _ in pts]
        alpha = _fit_alpha(pixels, [_med(ms) for _, ms in pts])
        per_round = [_fit_alpha(pixels, [ms[i] for _, ms in pts]) for i in range(config.rounds)] if pts else []
        spread = None if alpha is None else (min(per_round), max(per_round))
        sizes = ", ".join(f"{s[0]}x{s[1]}" for s in config.lga_sizes)
        rows.append(_row(f"LGA alpha on {rt} ({sizes})", alpha, spread, "<= 1.10",
                         None if alpha is None else alpha <= 1.10,
                         ", ".join(f"{p} px {_med(ms):.1f} ms" for p, ms in pts)))
    return rows


def _model_inputs(name: str, size: tuple[int, int], seed: int) -> tuple[object, dict[str, np.ndarray], tuple]:
    from ..models import get_model_spec
    from ..parity.inputs import make_inputs

    spec = get_model_spec(name)
    feeds = make_inputs(spec, 1, *size, seed=seed)
    return spec, feeds, tuple(torch.from_numpy(feeds[i.name]) for i in spec.inputs)


def _build(name: str, seed: int, path: str = "export") -> torch.nn.Module:
    from ..models import create_model

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return create_model(name, path=path).eval()


def _flow(config: GoalConfig, log: Log) -> list[dict]:
    from ..models import get_model_spec

    rows = []
    for name in config.flow_models:
        size = config.flow_size or get_model_spec(name).default_size
        label = f"{size[0]}x{size[1]}"
        spec, feeds, example = _model_inputs(name, size, config.seed)
        names = [i.name for i in spec.inputs]
        log(f"goals: {name} {label}: export, torch.compile")
        model, ref_model = _build(name, config.seed), _build(name, config.seed, "reference")
        proto = onnx_route(model, example, names, spec.output, "torchscript")
        steps: dict[str, Step] = {}
        failed: dict[str, str] = {}
        _try("eager export path", partial(torch_step, model, example, config.threads), steps, failed)
        _try("eager reference path", partial(torch_step, ref_model, example, config.threads), steps, failed)
        _try("torch.compile", partial(torch_step, _build(name, config.seed), example, config.threads, compile=True),
             steps, failed)
        for rt in config.runtimes:
            _try(rt, partial(runtime_step, rt, proto, feeds, config.threads), steps, failed)
        log(f"goals: {name} {label}: timing {len(steps)} candidates x {config.rounds} rounds")
        t = _time_group(steps, config)
        eagers = {k: v for k, v in t.items() if k.startswith("eager")}
        eager = min(eagers, key=lambda k: _med(eagers[k])) if eagers else None
        times = ", ".join(f"{k} {_med(v):.1f} ms" for k, v in t.items())
        fails = "; ".join(f"{k} failed ({v})" for k, v in failed.items())
        detail = times + (f"; {fails}" if fails else "")
        for rt, anchor, goal in (("ort", eager, 1.5), ("ort", "torch.compile", 1.0), ("openvino", eager, 2.0)):
            if rt not in config.runtimes:
                continue
            what = "fastest eager" if anchor == eager else anchor
            if rt in t and anchor in t:
                value, lo, hi = _ratio(t[anchor], t[rt])
                rows.append(_row(f"{name} {label} {rt}: {what} / {rt}", value, (lo, hi), f">= {goal}", value >= goal,
                                 detail))
            else:
                rows.append(_row(f"{name} {label} {rt}: {what} / {rt}", None, None, f">= {goal}", None, detail))
    return rows


def _custom_ops(config: GoalConfig, log: Log) -> list[dict]:
    from ..ops import custom_opsets, enable_custom_ops

    name, size = config.custom_model, config.custom_size
    label = f"{size[0]}x{size[1]}"
    spec, feeds, example = _model_inputs(name, size, config.seed)
    names = [i.name for i in spec.inputs]
    log(f"goals: {name} {label}: standard-op and custom-op graphs")
    standard = onnx_route(_build(name, config.seed), example, names, spec.output, "torchscript")
    custom_model = _build(name, config.seed)
    enable_custom_ops(custom_model)
    custom = onnx_route(custom_model, example, names, spec.output, "torchscript", custom_opsets=custom_opsets())
    steps: dict[str, Step] = {}
    failed: dict[str, str] = {}
    for rt in config.runtimes:
        _try(f"standard/{rt}", partial(runtime_step, rt, standard, feeds, config.threads), steps, failed)
        _try(f"custom/{rt}", partial(runtime_step, rt, custom, feeds, config.threads), steps, failed)
    t = _time_group(steps, config)
    rows = []
    for rt in config.runtimes:
        goal = f"{name} {label} {rt}: custom-op graph / standard-op graph"
        if f"custom/{rt}" in t and f"standard/{rt}" in t:
            value, lo, hi = _ratio(t[f"custom/{rt}"], t[f"standard/{rt}"])
            rows.append(_row(goal, value, (lo, hi), "<= 1.0", value <= 1.0,
                             f"custom {_med(t[f'custom/{rt}']):.1f} ms, standard {_med(t[f'standard/{rt}']):.1f} ms"))
        else:
            rows.append(_row(goal, None, None, "<= 1.0", None,
                             "; ".join(f"{k} {v}" for k, v in failed.items()) or "not measured"))
    return rows


def _native(config: GoalConfig, log: Log) -> list[dict]:
    """The compiled custom-op kernels' goals (bench/native_goals.py; needs `make native`)."""
    from .native_goals import native_kernels

    return native_kernels(config, log)


GROUPS: dict[str, Callable[[GoalConfig, Log], list[dict]]] = {
    "criss_cross": _criss_cross, "lga": _lga, "flow": _flow, "custom_ops": _custom_ops, "native": _native}


def run_goals(config: GoalConfig, groups: tuple[str, ...] = tuple(GROUPS), log: Log = print) -> list[dict]:
    """Measure the goal groups and return one row per goal (value None where it could not be measured)."""
    rows: list[dict] = []
    for g in groups:
        try:
            rows += GROUPS[g](config, log)
        except Exception as exc:  # noqa: BLE001 - one group failing must not lose the others
            rows.append(_row(f"{g}: group failed", None, None, "-", None,
                             f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"))
    return rows


def _meets(value: float, target: str) -> bool | None:
    """`value` against a target written as '>= X', '<= X', '> X' or '< X'; None for any other target."""
    op, _, number = target.partition(" ")
    try:
        bound = float(number)
    except ValueError:
        return None
    tests = {">=": value >= bound, "<=": value <= bound, ">": value > bound, "<": value < bound}
    return tests.get(op)


def merge_runs(runs: list[list[dict]]) -> list[dict]:
    """Rows of several whole runs of the goals -> one row per goal: the median of the runs' values, `spread` =
    the range of the runs' values, the verdict re-taken on the median, and the detail of the run nearest the
    median. On a shared machine a ratio moves between runs by more than its per-round spread shows; the median
    of whole runs settles a verdict that one run leaves to chance."""
    if len(runs) == 1:
        return runs[0]
    order: list[str] = []
    by_goal: dict[str, list[dict]] = {}
    for rows in runs:
        for r in rows:
            if r["goal"] not in by_goal:
                order.append(r["goal"])
            by_goal.setdefault(r["goal"], []).append(r)
    merged = []
    for goal in order:
        rows = by_goal[goal]
        measured = [r for r in rows if r["value"] is not None]
        if not measured:
            merged.append(rows[0])
            continue
        values = [r["value"] for r in measured]
        median = float(np.median(values))
        nearest = min(measured, key=lambda r: abs(r["value"] - median))
        row = _row(goal, median, (min(values), max(values)), nearest["target"], _meets(median, nearest["target"]),
                   f"median of {len(values)} runs ({', '.join(f'{v:.2f}' for v in values)}"
                   + (f"; {len(rows) - len(measured)} not measured" if len(measured) < len(rows) else "")
                   + f"); run nearest the median: {nearest['detail']}")
        ceilings = [r["ceiling"] for r in measured if r.get("ceiling") is not None]
        if ceilings:
            row["ceiling"] = float(np.median(ceilings))
        row["runs"] = values
        merged.append(row)
    return merged


def format_goals(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.2f}"
        spread = "" if not r["spread"] else f" [{r['spread'][0]:.2f}-{r['spread'][1]:.2f}]"
        verdict = "not measured" if r["met"] is None else ("met" if r["met"] else "MISSED")
        out.append(f"{r['goal']}: {value}{spread} (goal {r['target']}) {verdict} -- {r['detail']}")
    return out
