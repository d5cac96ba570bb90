"""Converter registry: reference attention classes (by class path) -> functions building export-path modules.

A converter is registered with `@register_converter(...)` for one or more class paths (`module.qualname`
strings such as "mmcv.ops.cc_attention.CrissCrossAttention"), so matching never imports the source framework.
Users often vendor a reference file under another module path; a class whose *name* is one of the converter's
class names and whose own parameter/buffer names (state-dict keys) equal the converter's signature is matched
too, and reported as "vendored copy". The converter function takes the old module and returns the new one, or
raises `Unsupported` with the reason when this instance's configuration has no export path (e.g. an ISA module
with two down factors); `convert()` then leaves the module as it is and lists it with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

__all__ = ["ConverterSpec", "Unsupported", "register_converter", "list_converters", "match_converter",
           "class_path"]


class Unsupported(Exception):
    """This instance of a known class cannot be converted; the message says why (shown in the table)."""


@dataclass(frozen=True)
class ConverterSpec:
    name: str  # short name shown in the table, e.g. "ccnet.criss_cross"
    class_paths: tuple[str, ...]  # exact `module.qualname` of the reference classes
    source: str  # where the reference lives (repository and file), for the docs and the table
    changes: str  # what the conversion changes and why (README table, manifest)
    fn: Callable[[nn.Module], nn.Module]
    # State-dict keys of the module's own tensors (one level of children included: "gamma", "query_conv.weight"),
    # as a frozenset of alternatives; a vendored copy is recognised when its class name and keys match one.
    signatures: tuple[frozenset[str], ...] = ()
    stochastic: bool = False  # the reference samples at inference: compared against the documented policy
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.class_names:
            object.__setattr__(self, "class_names", tuple(sorted({p.rsplit(".", 1)[-1] for p in self.class_paths})))


_Fn = Callable[[nn.Module], nn.Module]
_BY_PATH: dict[str, ConverterSpec] = {}
_SPECS: dict[str, ConverterSpec] = {}


def class_path(obj: nn.Module | type) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def register_converter(name: str, *, class_paths: tuple[str, ...], source: str, changes: str,
                       signatures: tuple[frozenset[str], ...] = (), stochastic: bool = False,
                       class_names: tuple[str, ...] = ()) -> Callable[[_Fn], _Fn]:
    """Register `fn(old) -> new` for the given class paths (and, for vendored copies, class names + signatures).

    A duplicate name or class path raises ValueError. `class_names` defaults to the last part of each path.
    """

    def wrap(fn: Callable[[nn.Module], nn.Module]) -> Callable[[nn.Module], nn.Module]:
        if name in _SPECS:
            raise ValueError(f"converter {name!r} is already registered")
        spec = ConverterSpec(name, tuple(class_paths), source, changes, fn, tuple(signatures), stochastic,
                             tuple(class_names))
        for path in class_paths:
            if path in _BY_PATH:
                raise ValueError(f"class path {path!r} already has converter {_BY_PATH[path].name!r}")
            _BY_PATH[path] = spec
        _SPECS[name] = spec
        return fn

    return wrap


def list_converters() -> list[ConverterSpec]:
    return [_SPECS[k] for k in sorted(_SPECS)]


def own_keys(module: nn.Module) -> frozenset[str]:
    """State-dict keys of `module` (its parameters and persistent buffers, all depths)."""
    return frozenset(module.state_dict().keys())


def match_converter(module: nn.Module) -> tuple[ConverterSpec, str] | None:
    """(spec, how) for a module a converter knows: how is "class path" or "vendored copy (name + parameters)"."""
    path = class_path(module)
    if path in _BY_PATH:
        return _BY_PATH[path], "class path"
    name = type(module).__name__
    candidates = [s for s in _SPECS.values() if name in s.class_names and s.signatures]
    if candidates:
        keys = own_keys(module)
        for spec in candidates:
            if any(_signature_matches(sig, keys) for sig in spec.signatures):
                return spec, "vendored copy (class name + parameter names)"
    return None


def _signature_matches(signature: frozenset[str], keys: frozenset[str]) -> bool:
    # A signature entry ending in ".*" matches a whole subtree (e.g. "stages.*" for nested blocks).
    exact = {k for k in signature if not k.endswith(".*")}
    prefixes = tuple(k[:-1] for k in signature if k.endswith(".*"))
    if not exact <= keys or not all(any(k.startswith(p) for k in keys) for p in prefixes):
        return False
    return all(k in exact or k.startswith(prefixes) for k in keys) if prefixes else keys == exact
