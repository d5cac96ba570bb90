"""`convert(model, example=x)`: replace reference attention modules by export paths, and prove it on `example`.

Like timm's `reparameterize_model`: the model is deep-copied and its tree walked with `named_children`; a module
a converter knows (by class path, or by class name + parameter names for vendored copies) is replaced by the
converter's new module, whose weights are loaded from the old one with `load_state_dict(strict=True)`. The input
model is never mutated (the checks run on copies too, in eval mode, so BatchNorm statistics do not move).

Equivalence, on one forward of `example` in fp32:
- per module: forward hooks on the original capture the activations each known module actually receives and
  what it returns (every call, e.g. both passes of a recurrent criss-cross); the replacement is run on the same
  inputs and compared (max abs, and max abs relative to the reference output's max magnitude);
- whole model: original vs converted output on `example`.
Stochastic references (VISTA samples at inference) are compared with their documented deterministic policy:
the original runs with that module's output replaced by the replacement's `forward_reference` (the reference's
own computation under the policy), and the gap to the original's random draw is noted. Where the original
cannot run here at all (a CUDA extension on a CPU), the converted model with each replacement switched to its
reference computation serves as the reference, and the table says so.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ExportError
from .hostile import HostileModule, find_hostile
from .registry import ConverterSpec, Unsupported, class_path, match_converter
from .table import ConversionRow, format_table, rows_to_json
from .vacuous import vacuous_note

__all__ = ["convert", "ConversionResult", "ConversionError", "REL_TOLERANCE", "REL_TOLERANCE_REASON"]

REL_TOLERANCE = 1e-5
REL_TOLERANCE_REASON = (
    "fp32, same device: a replacement computes the reference's function with other ops (MatMul for einsum/bmm, "
    "shifted views for unfold, a -3e4 mask for -inf), which only reorders sums: measured 1e-7..1e-6 relative on "
    "the modules here; a wrong offset, mask or axis moves outputs by > 1e-2.")


class ConversionError(ExportError):
    """The converted model does not reproduce the original on the example (exit status 1 in the CLI)."""

    exit_code = 1


@dataclass
class _Replaced:
    path: str
    spec: ConverterSpec
    how: str
    old_cls: str
    new: nn.Module
    params: int


@dataclass
class ConversionResult:
    model: nn.Module  # the converted copy
    rows: list[ConversionRow]
    hostile: list[HostileModule]
    whole_max_abs: float | None = None
    whole_max_rel: float | None = None
    reference: str = "original"  # what the converted model was compared with
    tolerance: float = REL_TOLERANCE
    failure: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None

    def whole_line(self) -> str:
        if self.whole_max_abs is None:
            return "whole model: not compared"
        verdict = "passed" if self.passed else "FAILED"
        return (f"whole model ({self.reference} vs converted): max abs {self.whole_max_abs:.2e}, max rel "
                f"{self.whole_max_rel:.2e} (tolerance {self.tolerance:g} relative): {verdict}")

    def table(self) -> str:
        text = format_table(self.rows, self.hostile, self.whole_line())
        extra = [*self.notes, *([f"FAILED: {self.failure}"] if self.failure else [])]
        return "\n".join([text, *extra])

    def to_json(self) -> dict[str, Any]:
        return {**rows_to_json(self.rows, self.hostile), "whole_model": {
            "reference": self.reference, "max_abs": self.whole_max_abs, "max_rel": self.whole_max_rel,
            "tolerance_rel": self.tolerance, "tolerance_reason": REL_TOLERANCE_REASON, "passed": self.passed,
            "failure": self.failure}, "notes": list(self.notes)}

    def check(self) -> ConversionResult:
        """Raise ConversionError (naming the module) unless every check passed."""
        if self.failure:
            raise ConversionError(f"conversion check failed: {self.failure}")
        return self


# -- the walk ------------------------------------------------------------------------------------------
def _replace(module: nn.Module, path: str, replaced: list[_Replaced], declined: list[ConversionRow]
             ) -> nn.Module:
    found = match_converter(module)
    if found is not None:
        spec, how = found
        try:
            new = spec.fn(module)
        except Unsupported as exc:
            declined.append(_declined(path, module, spec, how, str(exc)))
        except (RuntimeError, AttributeError, TypeError, ValueError) as exc:  # strict load / unexpected layout
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            declined.append(_declined(path, module, spec, how, f"converter failed: {type(exc).__name__}: {first}"))
        else:
            replaced.append(_Replaced(path, spec, how, class_path(module), new, len(new.state_dict())))
            return new
    for name, child in list(module.named_children()):
        new_child = _replace(child, f"{path}.{name}" if path else name, replaced, declined)
        if new_child is not child:
            setattr(module, name, new_child)
    return module


def _declined(path: str, module: nn.Module, spec: ConverterSpec, how: str, reason: str) -> ConversionRow:
    return ConversionRow(path or "(model)", class_path(module), "-", spec.name, how, 0, 0, None, None,
                         "not converted", reason)


# -- capture and comparison ----------------------------------------------------------------------------
def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=str) for t in _tensors(obj[k])]
    return []


def _clone(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_clone(o) for o in obj) if not hasattr(obj, "_fields") else type(obj)(*map(_clone, obj))
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    return obj


def _error(out: Any, ref: Any) -> tuple[float, float]:
    a, b = _tensors(out), _tensors(ref)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        shapes = lambda ts: [tuple(t.shape) for t in ts]  # noqa: E731
        raise _ShapeMismatch(f"outputs {shapes(a)} vs reference {shapes(b)}")
    if not a:
        return 0.0, 0.0
    abs_err = max(float((x.double() - y.double()).abs().max()) if x.numel() else 0.0 for x, y in zip(a, b))
    scale = max(float(y.double().abs().max()) if y.numel() else 0.0 for y in b)
    if any(not torch.isfinite(t).all() for t in a + b):
        return float("nan"), float("nan")
    return abs_err, abs_err / max(scale, 1e-30)


class _ShapeMismatch(Exception):
    pass


Calls = list[tuple[tuple, dict, Any]]


def _run_capturing(model: nn.Module, example: tuple, paths: list[str],
                   substitute: dict[str, Callable[..., Any]]) -> tuple[Any, dict[str, Calls], dict[str, list]]:
    """One forward of `model` recording (args, kwargs, output) per path; `substitute[path]` replaces an output."""
    calls: dict[str, Calls] = {p: [] for p in paths}
    drawn: dict[str, list] = {p: [] for p in paths}
    handles = []
    for path in paths:
        mod = model.get_submodule(path) if path else model

        def pre(m: nn.Module, args: tuple, kwargs: dict, path: str = path) -> None:
            calls[path].append((_clone(args), _clone(kwargs), None))

        def post(m: nn.Module, args: tuple, kwargs: dict, out: Any, path: str = path) -> Any:
            a, k, _ = calls[path][-1]
            if path in substitute:
                drawn[path].append(_clone(out))
                out = substitute[path](*_clone(a), **_clone(k))
            calls[path][-1] = (a, k, _clone(out))
            return out

        handles.append(mod.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(mod.register_forward_hook(post, with_kwargs=True))
    try:
        out = model(*example)
    finally:
        for h in handles:
            h.remove()
    return out, calls, drawn


def _as_args(example: Any) -> tuple:
    if isinstance(example, torch.Tensor):
        return (example,)
    if isinstance(example, (list, tuple)) and example and all(isinstance(t, torch.Tensor) for t in example):
        return tuple(example)
    raise TypeError("example must be a tensor or a tuple of tensors (the model's positional inputs)")


def convert(model: nn.Module, example: Any = None, *, tolerance: float = REL_TOLERANCE) -> ConversionResult:
    """Return the converted copy of `model` and its table; with `example`, check it module by module and whole.

    The input model is never mutated. Modules no converter knows are left as they are; those whose forward
    looks export-hostile are listed in `result.hostile` with the reason. `result.check()` raises if a check
    failed; `result.table()` is the printable table; `result.to_json()` goes into a bundle's manifest.
    """
    converted = copy.deepcopy(model)
    replaced: list[_Replaced] = []
    declined: list[ConversionRow] = []
    converted = _replace(converted, "", replaced, declined)
    hostile = find_hostile(converted, skip={r.path for r in replaced})
    result = ConversionResult(converted, [], hostile, tolerance=tolerance)
    if example is None:
        result.rows = [_row(r, [], "unchecked", "no example given") for r in replaced] + declined
        result.reference = "none"
        return result
    args = _as_args(example)
    modes = {m: m.training for m in converted.modules()}
    try:
        with torch.no_grad():
            _check(model, converted, args, replaced, declined, result)
    finally:
        for m, mode in modes.items():
            m.training = mode
    note = vacuous_note(converted)
    if note:  # the check above passed, but says nothing about these blocks' attention
        result.notes.append(note)
    return result


def _check(model: nn.Module, converted: nn.Module, args: tuple, replaced: list[_Replaced],
           declined: list[ConversionRow], result: ConversionResult) -> None:
    converted.eval()
    paths = [r.path for r in replaced]
    stochastic = {r.path: r.new.forward_reference for r in replaced if r.spec.stochastic}
    original = copy.deepcopy(model).eval()
    try:
        ref_out, calls, drawn = _run_capturing(original, args, paths, stochastic)
    except Exception as exc:  # noqa: BLE001 - e.g. a CUDA extension on a CPU; reported, then the fallback
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        result.notes.append(f"the original model could not run here ({type(exc).__name__}: {first}); each "
                            "replacement was compared with its own reference computation instead")
        result.reference = "converted model on the replacements' reference computations"
        refs = {r.path: _reference_fn(r.new) for r in replaced}
        missing = [r.path for r in replaced if refs[r.path] is None]
        if missing:
            result.failure = (f"the original model could not run here and {', '.join(missing)} has no reference "
                              "computation to compare with")
            result.rows = [_row(r, [], "unchecked", "original could not run") for r in replaced] + declined
            return
        ref_out, calls, drawn = _run_capturing(converted, args, paths, refs)
    rows, worst = [], None
    for r in replaced:
        errs = []
        try:
            for a, k, expected in calls[r.path]:
                errs.append(_error(r.new(*_clone(a), **_clone(k)), expected))
        except _ShapeMismatch as exc:
            rows.append(_row(r, [], "MISMATCH", f"output shapes differ: {exc}"))
            worst = worst or (r.path, float("inf"))
            continue
        bad = any(not (e[1] <= result.tolerance) for e in errs)
        note = r.spec.changes
        if r.spec.stochastic and drawn[r.path]:
            gaps = [_error(d, c[2])[1] for d, c in zip(drawn[r.path], calls[r.path])]
            note += f"; gap of the original's random draw to the policy: {max(gaps):.2e} relative (information)"
        if not errs:
            note = "never called during the example forward: not checked; " + note
        rows.append(_row(r, errs, "MISMATCH" if bad else ("converted" if errs else "unchecked"), note))
        rel = max((e[1] for e in errs), default=0.0)
        if bad and (worst is None or not rel <= worst[1]):
            worst = (r.path, rel)
    result.rows = rows + declined
    out = converted(*args)
    try:
        result.whole_max_abs, result.whole_max_rel = _error(out, ref_out)
    except _ShapeMismatch as exc:
        result.failure = f"whole-model outputs differ in shape: {exc}"
        return
    if worst is not None:
        row = next(x for x in rows if x.path == worst[0])
        result.failure = (f"module '{row.path}' ({row.original}) -> {row.replacement} differs from its reference by "
                          f"{_f(row.max_rel)} relative (tolerance {result.tolerance:g})")
    elif not (result.whole_max_rel <= result.tolerance):
        culprit = max(rows, key=lambda x: x.max_rel or 0.0, default=None)
        where = (f"; the largest per-module error is at '{culprit.path}' ({_f(culprit.max_rel)})" if culprit
                 else "; no module was replaced, so the difference is outside the conversion")
        result.failure = (f"whole-model output differs by {_f(result.whole_max_rel)} relative (tolerance "
                          f"{result.tolerance:g}){where}")


def _f(v: float | None) -> str:
    return "nan" if v is None or v != v else f"{v:.2e}"


def _reference_fn(module: nn.Module) -> Callable[..., Any] | None:
    fn = getattr(module, "forward_reference", None)
    return fn if callable(fn) else None


def _row(r: _Replaced, errs: list[tuple[float, float]], status: str, note: str) -> ConversionRow:
    max_abs = max((e[0] for e in errs), default=None)
    max_rel = max((e[1] for e in errs), default=None)
    if any(e[1] != e[1] for e in errs):  # NaN is never a pass
        max_abs = max_rel = float("nan")
    return ConversionRow(r.path or "(model)", r.old_cls, class_path(r.new), r.spec.name, r.how, r.params, len(errs),
                         max_abs, max_rel, status, note)
