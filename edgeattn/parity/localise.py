"""Failure localisation: the first intermediate tensor where a runtime leaves PyTorch, and its module.

When a runtime fails parity, edgeattn re-runs the same ONNX graph on that runtime with the output tensor of
every PyTorch module exposed as an extra graph output, runs PyTorch with forward hooks on every module, and
walks the graph in topological order to the first module output whose error exceeds the threshold.

How module outputs are found in the graph: the TorchScript exporter names every node after the module scope
it was traced in (`/backbone/features/features.3/conv/conv.0/conv.0.0/Conv` is module
`backbone.features.3.conv.0.0`). A module's output is the tensor of the last node inside its scope that is
used outside it. Modules folded away by the exporter (BatchNorm fused into the preceding Conv, Identity) have
no nodes; their output is then what their predecessor's tensor holds, so a tensor is compared with its own
module's output and with those of the node-less siblings that follow it, and the closest one counts.

Error measure: max |runtime - PyTorch| / max(|PyTorch|, 1e-12) over the tensor (scale-free, so one threshold
fits tensors of any magnitude); the threshold is the row's tolerance (`max_abs`) read as relative.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ..runtimes import RuntimeOptions, load_runtime

__all__ = ["Divergence", "module_of", "module_outputs", "torch_module_outputs", "localise"]


@dataclass
class Divergence:
    module: str = ""  # first diverging module ("" when none diverged)
    tensor: str = ""  # its ONNX tensor
    node: str = ""  # the ONNX node that produced it
    op: str = ""
    error: float | None = None  # relative max abs error of that tensor
    threshold: float = 0.0
    last_agreeing: str = ""  # the last module (in graph order) that still agreed
    checked: int = 0  # module outputs compared
    trace: list[dict] = field(default_factory=list)  # (module, tensor, error) in graph order, up to the divergence

    @property
    def found(self) -> bool:
        return bool(self.module)

    def summary(self) -> str:
        if self.found:
            return (f"first diverging module: {self.module} ({self.op} node {self.node!r}, tensor {self.tensor!r}, "
                    f"relative error {self.error:.2e} > {self.threshold:.0e}; last agreeing: "
                    f"{self.last_agreeing or 'none'})")
        return (f"no module output among {self.checked} diverged beyond {self.threshold:.0e} (relative): the error "
                f"builds up gradually or arises after the last module output (e.g. in the final resize)")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["summary"] = self.summary()
        return d


def module_of(node_name: str) -> str:
    """'/backbone/features/features.3/conv/conv.0/Conv' -> 'backbone.features.3.conv.0' ('' for the root)."""
    parts = node_name.strip("/").split("/")[:-1]
    path: list[str] = []
    prev = ""
    for seg in parts:
        # A Sequential child is scoped as '<parent segment>.<index>'; keep only the new part.
        path.append(seg[len(prev) + 1:] if prev and seg.startswith(prev + ".") else seg)
        prev = seg
    return ".".join(path)


def _in_scope(scope: str, module: str) -> bool:
    return scope == module or scope.startswith(module + ".")


def module_outputs(proto: onnx.ModelProto, modules: list[str]) -> dict[str, tuple[str, int]]:
    """module -> (its output tensor, index of the producing node), for modules that have nodes in the graph."""
    nodes = list(proto.graph.node)
    scopes = [module_of(n.name) for n in nodes]
    consumers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for t in n.input:
            consumers.setdefault(t, []).append(i)
    graph_outputs = {o.name for o in proto.graph.output}
    found: dict[str, tuple[str, int]] = {}
    for m in modules:
        inside = [i for i, s in enumerate(scopes) if _in_scope(s, m)]
        best: tuple[str, int] | None = None
        for i in inside:
            for t in nodes[i].output:
                used_outside = t in graph_outputs or any(not _in_scope(scopes[c], m) for c in consumers.get(t, []))
                if used_outside and (best is None or i > best[1]):
                    best = (t, i)
        if best is not None:
            found[m] = best
    return found


@torch.inference_mode()
def torch_module_outputs(model: nn.Module, feeds: dict[str, np.ndarray],
                         input_names: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Run `model` once with a hook on every submodule: (execution order, module -> output as float32)."""
    order: list[str] = []
    outs: dict[str, np.ndarray | None] = {}

    def hook(name: str):
        def fn(_mod: nn.Module, _inp: object, out: object) -> None:
            if name in outs:  # called twice (shared weights): its output is ambiguous
                outs[name] = None
                return
            order.append(name)
            outs[name] = out.detach().float().numpy().copy() if isinstance(out, torch.Tensor) else None
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n]
    try:
        model(*[torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in input_names])
    finally:
        for h in handles:
            h.remove()
    return order, {k: v for k, v in outs.items() if v is not None}


def _rel_err(candidate: np.ndarray, reference: np.ndarray) -> float:
    ref = reference.astype(np.float64)
    cand = candidate.astype(np.float64).reshape(ref.shape)
    if not np.isfinite(cand).all():
        return float("inf")
    return float(np.abs(cand - ref).max() / max(float(np.abs(ref).max()), 1e-12))


def _parent(name: str) -> str:
    return name.rpartition(".")[0]


def localise(model: nn.Module, proto: onnx.ModelProto, runtime: str, feeds: dict[str, np.ndarray],
             input_names: list[str], options: RuntimeOptions, threshold: float, workdir: Path) -> Divergence:
    """Find the first module whose output differs between `runtime` (running `proto`) and PyTorch."""
    order, ref = torch_module_outputs(model, feeds, input_names)
    mapped = module_outputs(proto, [m for m in order if m in ref])
    inferred = onnx.shape_inference.infer_shapes(proto)
    floats = {v.name for v in [*inferred.graph.value_info, *inferred.graph.output]
              if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    mapped = {m: t for m, t in mapped.items() if t[0] in floats}
    # A node-less module after m (fused BatchNorm, Identity) shares m's tensor: compare with the closest.
    has_nodes = set(mapped)
    candidates: dict[str, list[str]] = {}
    for k, m in enumerate(order):
        if m not in mapped:
            continue
        group = [m]
        for nxt in order[k + 1:]:
            if nxt in has_nodes or _parent(nxt) != _parent(m) or nxt not in ref:
                break
            group.append(nxt)
        candidates[m] = group

    augmented = copy.deepcopy(proto)
    present = {o.name for o in augmented.graph.output}
    for tensor, _ in sorted(set(mapped.values()), key=lambda t: t[1]):
        if tensor not in present:
            augmented.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
            present.add(tensor)
    path = Path(workdir) / "localise.onnx"
    path.write_bytes(augmented.SerializeToString())
    rt = load_runtime(runtime, path, options)
    try:
        got = rt.infer_all(feeds)
    finally:
        rt.close()

    nodes = list(proto.graph.node)
    result = Divergence(threshold=threshold)
    for m, (tensor, idx) in sorted(mapped.items(), key=lambda kv: kv[1][1]):
        if tensor not in got:
            continue
        errs = [_rel_err(got[tensor], ref[c]) for c in candidates.get(m, [m]) if ref[c].size == got[tensor].size]
        if not errs:
            continue
        err = min(errs)
        result.checked += 1
        result.trace.append({"module": m, "tensor": tensor, "error": err})
        if err > threshold:
            result.module, result.tensor, result.error = m, tensor, err
            result.node, result.op = nodes[idx].name, nodes[idx].op_type
            break
        result.last_agreeing = m
    result.trace = result.trace[-10:]
    return result
