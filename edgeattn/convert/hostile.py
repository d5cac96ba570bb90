"""Inventory of export-hostile modules that no converter handles.

How: the bytecode of the module class's `forward` (nested code objects included) is scanned for the names of
hostile ops, following the class's own methods and the module-level functions it names (CCNet's `INF`,
mmcv's `NEG_INF_DIAG`, VISTA's `struc_att`). Names that resolve, in the
method's globals, to an `autograd.Function` subclass or its `.apply` are reported as such (CUDA extensions,
custom kernels). Bytecode rather than source: it works for classes without source files and ignores comments
and strings; the cost is that a hostile op reached only through another object's method is not seen (the
tracer would see it, but tracing needs the export to work, which is what this predicts).
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["HostileModule", "HOSTILE_OPS", "hostile_reasons", "find_hostile"]

# op name in bytecode -> why exporting it is a problem
HOSTILE_OPS: dict[str, str] = {
    "einsum": "einsum (exports as Einsum: slow on ONNX Runtime, unsupported by some TensorRT versions)",
    "unfold": "unfold (im2col: 5-D/6-D tensors or Gather in ONNX)",
    "Unfold": "nn.Unfold (im2col: 5-D/6-D tensors or Gather in ONNX)",
    "diag": "torch.diag (no aten::diag in the TorchScript exporter; -inf masks)",
    "diag_embed": "torch.diag_embed (no export path in the TorchScript exporter)",
    "grid_sample": "grid_sample (GridSample: opset >= 16, limited TensorRT/OpenVINO support, data-dependent gather)",
    "topk": "topk (TopK: data-dependent indices, Gather downstream)",
    "randn": "random op randn (a Random* node or a constant frozen at export: nondeterministic inference)",
    "rand": "random op rand (nondeterministic inference)",
    "randint": "random op randint (nondeterministic inference)",
    "randn_like": "random op randn_like (nondeterministic inference)",
    "rand_like": "random op rand_like (nondeterministic inference)",
    "randperm": "random op randperm (nondeterministic inference)",
    "bernoulli": "random op bernoulli (nondeterministic inference)",
    "multinomial": "random op multinomial (nondeterministic inference)",
    "normal_": "random op normal_ (nondeterministic inference)",
}
_AUTOGRAD = "an autograd.Function ({name}): a custom kernel the exporters cannot see into (CUDA extension?)"


@dataclass(frozen=True)
class HostileModule:
    path: str
    cls: str
    reasons: tuple[str, ...]


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _method(cls: type, name: str) -> types.FunctionType | None:
    for klass in cls.__mro__:
        if klass.__module__.startswith("torch.") or klass is object:
            continue
        value = vars(klass).get(name)
        fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if isinstance(fn, types.FunctionType):
            return fn
    return None


def _is_autograd_function(obj: object) -> bool:
    owner = getattr(obj, "__self__", None)  # a bound `.apply`
    target = owner if owner is not None else obj
    return isinstance(target, type) and issubclass(target, torch.autograd.Function)


def hostile_reasons(module: nn.Module) -> tuple[str, ...]:
    """Why this module's own forward looks export-hostile (empty when it does not).

    Starts at the class's `forward` and follows the methods of the class and the module-level functions it
    names (transitively, each function once); __init__ and weight-init code are never reached, so
    `normal_` in an initialiser is not reported.
    """
    cls = type(module)
    if isinstance(module, nn.Unfold):
        return (HOSTILE_OPS["Unfold"],)
    if cls.__module__.startswith(("torch.", "edgeattn.")):
        return ()
    start = _method(cls, "forward")
    if start is None:
        return ()
    reasons: dict[str, str] = {}
    seen: set[types.FunctionType] = set()
    todo = [(start, "")]
    while todo:
        fn, via = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        for code in _codes(fn.__code__):
            for name in code.co_names:
                if name in HOSTILE_OPS:
                    reasons.setdefault(name, HOSTILE_OPS[name] + via)
                method = _method(cls, name)
                if method is not None:
                    todo.append((method, f" (in {cls.__name__}.{name})"))
                    continue
                glob = fn.__globals__.get(name)
                if glob is None:
                    continue
                if _is_autograd_function(glob):
                    reasons.setdefault(f"autograd:{name}", _AUTOGRAD.format(name=name))
                elif isinstance(glob, types.FunctionType) and not glob.__module__.startswith("torch"):
                    todo.append((glob, f" (via {name}())"))
    return tuple(reasons.values())


def find_hostile(model: nn.Module, skip: set[str] = frozenset()) -> list[HostileModule]:
    """Every module under `model` (paths not in `skip` nor below them) whose forward looks export-hostile."""
    found = []
    for path, module in model.named_modules():
        if any(path == s or path.startswith(s + ".") for s in skip if s):
            continue
        reasons = hostile_reasons(module)
        if reasons:
            cls = type(module)
            found.append(HostileModule(path or "(model)", f"{cls.__module__}.{cls.__qualname__}", reasons))
    return found

