"""The compiled custom-op kernels' goals (issue 22), one interleaved group each, in `python -m edgeattn.bench
--goals-only --goal-groups native`:

Sizes: GoalConfig.native_sizes = (ccnet_mobilenet, module, psal_inpaint).

* criss-cross: `ccnet_mobilenet` at 256x512, the --custom-ops graph on OpenVINO with the compiled
  library vs the standard-op graph: standard / custom >= 1.5. Timed beside them, for information: the custom-op
  graph with edgeattn's Python mapping (the node decomposed into OpenVINO ops, the route before the library).
* the criss-cross module (C = `channels`, R = 2) at 128x256 through the custom op on the
  compiled library vs CCNet-style RCCA by every route (as the criss_cross group): best route / module >= 2.5.
* PatchMatch: `psal_inpaint` at 256x256, custom-op graph on the library vs standard-op graph:
  standard / custom >= 3. (The standard graph unrolls the search: its export alone takes minutes.)
* peak memory (bench/memory.py: load + first inference, peak RSS increase) of each custom-op graph vs its
  standard graph at the same size: custom / standard < 1 (for the module: vs edgeattn's standard-op export
  path of the same module, which is also timed beside it, for information).
* ONNX Runtime has no compiled kernel (docs/native-kernels.md): its rows say so instead of a number.

Nothing here is a timed test; run it on an idle machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

from .anchors import OPENVINO_DIRECT_ROUTES, CCNetRCCA, Step, onnx_route, openvino_direct_step, runtime_step
from .memory import peak_rss_delta

__all__ = ["native_kernels", "native_step"]

Log = Callable[[str], None]


def native_step(proto, feeds: dict[str, np.ndarray], threads: int) -> Step:  # noqa: ANN001 - onnx.ModelProto
    """`proto` on edgeattn's OpenVINO runner with the compiled library of this machine (no Python kernels)."""
    from ..native import host_arch, library_path
    from ..runtimes import RuntimeOptions, load_runtime

    tmp = tempfile.TemporaryDirectory(prefix="edgeattn-native-")
    path = Path(tmp.name) / "model.onnx"
    path.write_bytes(proto.SerializeToString())
    rt = load_runtime("openvino", path, RuntimeOptions(threads=threads, precision="fp32", custom_ops=False,
                                                        extensions=(str(library_path(host_arch())),)))

    def close() -> None:
        rt.close()
        tmp.cleanup()

    return Step(lambda: rt.infer(feeds), close)


def _graphs(name: str, size: tuple[int, int], seed: int, kwargs: dict | None = None):  # noqa: ANN202
    from ..models import create_model
    from ..ops import custom_opsets, enable_custom_ops
    from .goals import _model_inputs

    spec, feeds, example = _model_inputs(name, size, seed)
    names = [i.name for i in spec.inputs]

    def build() -> torch.nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return create_model(name, path="export", **(kwargs or {})).eval()

    custom_model = build()
    enable_custom_ops(custom_model)
    custom = onnx_route(custom_model, example, names, spec.output, "torchscript", custom_opsets=custom_opsets())
    standard = onnx_route(build(), example, names, spec.output, "torchscript")
    return feeds, standard, custom


def _peak(make: Callable[[], Step]) -> float | None:
    step, mib = peak_rss_delta(lambda: _first(make))
    step.close()
    return mib


def _peaks(makers: dict[str, Callable[[], Step]]) -> dict[str, float | None]:
    """Peak memory of each candidate's load + first inference, after one untimed load + inference of every
    candidate: the CPU plugin, the extension library and the allocator's first arenas are then already in the
    process, so the first candidate measured does not pay for what every candidate shares."""
    for make in makers.values():
        try:
            _first(make).close()
        except Exception:  # noqa: BLE001 - a candidate that fails is reported by the timing step
            pass
    return {k: _peak(m) for k, m in makers.items()}


def _first(make: Callable[[], Step]) -> Step:
    step = make()
    step.run()
    return step


def _model_goal(config, log: Log, name: str, size: tuple[int, int], goal: float, kwargs: dict | None,
                extra_python: bool) -> list[dict]:  # noqa: ANN001 - GoalConfig
    from .goals import _med, _ratio, _row, _time_group, _try

    label = f"{size[0]}x{size[1]}"
    log(f"goals: native {name} {label}: exporting the standard-op and the custom-op graphs")
    feeds, standard, custom = _graphs(name, size, config.seed, kwargs)
    makers = {"standard/openvino": partial(runtime_step, "openvino", standard, feeds, config.threads),
              "custom native/openvino": partial(native_step, custom, feeds, config.threads)}
    if extra_python:
        makers["custom python mapping/openvino"] = partial(runtime_step, "openvino", custom, feeds, config.threads)
    memory = _peaks({k: m for k, m in makers.items() if k != "custom python mapping/openvino"})
    steps: dict[str, Step] = {}
    failed: dict[str, str] = {}
    for k, make in makers.items():
        _try(k, make, steps, failed)
    log(f"goals: native {name} {label}: timing {len(steps)} candidates x {config.rounds} rounds")
    t = _time_group(steps, config)
    times = ", ".join(f"{k} {_med(v):.1f} ms" for k, v in t.items())
    fails = "; ".join(f"{k} failed ({v})" for k, v in failed.items())
    rows = []
    speed = f"{name} {label} openvino: standard-op graph / custom-op graph (compiled kernels)"
    if "standard/openvino" in t and "custom native/openvino" in t:
        value, lo, hi = _ratio(t["standard/openvino"], t["custom native/openvino"])
        rows.append(_row(speed, value, (lo, hi), f">= {goal}", value >= goal, times + (f"; {fails}" if fails else "")))
    else:
        rows.append(_row(speed, None, None, f">= {goal}", None, fails or "not measured"))
    mem = f"{name} {label} openvino: peak memory custom-op / standard-op (load + first inference)"
    if memory.get("standard/openvino") and memory.get("custom native/openvino") is not None:
        value = memory["custom native/openvino"] / memory["standard/openvino"]
        rows.append(_row(mem, value, None, "< 1.0", value < 1.0, ", ".join(f"{k} {v:.0f} MiB" for k, v in
                                                                            memory.items())))
    else:
        rows.append(_row(mem, None, None, "< 1.0", None, "peak RSS not measurable here"))
    rows.append(_row(f"{name} {label} ort: the same goals on ONNX Runtime", None, None, "-", None,
                     "no compiled ONNX Runtime kernel (docs/native-kernels.md: the decision and its reason)"))
    return rows


def _module_goal(config, log: Log) -> list[dict]:  # noqa: ANN001 - GoalConfig
    from ..nn import CrissCrossAttention
    from ..ops import custom_opsets, enable_custom_ops
    from .goals import _med, _ratio, _row, _time_group, _try

    h, w = config.native_sizes[1]
    label = f"{h}x{w}"
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        ours = CrissCrossAttention(config.channels, recurrence=2).eval()
    with torch.no_grad():
        ours.gamma.fill_(0.5)
    anchor = CCNetRCCA(config.channels, recurrence=2).eval()
    anchor.load_state_dict(ours.state_dict())
    holder = torch.nn.Sequential(ours)
    enable_custom_ops(holder)
    x = np.random.default_rng(config.seed).standard_normal((1, config.channels, h, w), dtype=np.float32)
    example, feeds = (torch.from_numpy(x),), {"x": x}
    log(f"goals: native criss-cross module {label}: exporting")
    custom = onnx_route(holder, example, ["x"], "y", "torchscript", custom_opsets=custom_opsets())
    standard = onnx_route(ours, example, ["x"], "y", "torchscript")  # edgeattn's standard-op export path
    makers = {"module native/openvino": partial(native_step, custom, feeds, config.threads),
              "module standard/openvino": partial(runtime_step, "openvino", standard, feeds, config.threads)}
    memory = _peaks(makers)
    steps: dict[str, Step] = {}
    failed: dict[str, str] = {}
    for k, make in makers.items():
        _try(k, make, steps, failed)
    for exporter in ("torchscript", "dynamo"):
        try:
            proto = onnx_route(anchor, example, ["x"], "y", exporter)
        except Exception as exc:  # noqa: BLE001 - a route that does not export is a result
            failed[f"ccnet {exporter} onnx/openvino"] = f"export failed: {str(exc).splitlines()[0][:160]}"
            continue
        _try(f"ccnet {exporter} onnx/openvino", partial(runtime_step, "openvino", proto, feeds, config.threads),
             steps, failed)
    for via in OPENVINO_DIRECT_ROUTES:
        _try(f"ccnet {via}/openvino", partial(openvino_direct_step, anchor, example, config.threads, via), steps,
             failed)
    log(f"goals: native criss-cross module {label}: timing {len(steps)} candidates x {config.rounds} rounds")
    t = _time_group(steps, config)
    goal = f"criss-cross module {label} openvino: best CCNet route / module on the compiled kernel"
    refs = {k: v for k, v in t.items() if k.startswith("ccnet")}
    fails = "; ".join(f"{k} failed ({v})" for k, v in failed.items())
    mem = f"criss-cross module {label} openvino: peak memory custom-op / standard-op (load + first inference)"
    if memory.get("module standard/openvino") and memory.get("module native/openvino") is not None:
        ratio = memory["module native/openvino"] / memory["module standard/openvino"]
        mem_row = _row(mem, ratio, None, "< 1.0", ratio < 1.0,
                       ", ".join(f"{k} {v:.0f} MiB" for k, v in memory.items()))
    else:
        mem_row = _row(mem, None, None, "< 1.0", None, "peak RSS not measurable here")
    if "module native/openvino" not in t or not refs:
        return [_row(goal, None, None, ">= 2.5", None, fails or "not measured"), mem_row]
    best = min(refs, key=lambda k: _med(refs[k]))
    value, lo, hi = _ratio(refs[best], t["module native/openvino"])
    routes = ", ".join(f"{k.rsplit('/', 1)[0]} {_med(v):.1f} ms" for k, v in refs.items())
    standard_ms = (f", standard-op export path {_med(t['module standard/openvino']):.1f} ms"
                   if "module standard/openvino" in t else "")
    return [_row(goal, value, (lo, hi), ">= 2.5", value >= 2.5,
                 f"module {_med(t['module native/openvino']):.1f} ms{standard_ms}; routes: {routes}"
                 + (f"; {fails}" if fails else "")), mem_row]


def native_kernels(config, log: Log) -> list[dict]:  # noqa: ANN001 - GoalConfig
    """The issue-22 goals (see the module docstring); OpenVINO only."""
    cc, _, pm = config.native_sizes
    rows = _model_goal(config, log, "ccnet_mobilenet", cc, 1.5, None, extra_python=True)
    rows += _module_goal(config, log)
    rows += _model_goal(config, log, "psal_inpaint", pm, 3.0, None, extra_python=False)
    return rows
