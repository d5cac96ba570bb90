"""Bring your own model: convert reference attention modules into edgeattn's export paths, weights unchanged.

    result = edgeattn.convert(model, example=x)   # same as edgeattn.convert.convert(model, example=x)
    result.model      # the converted copy (the input model is never mutated)
    print(result.table())
    result.check()    # raises ConversionError naming the module when a check failed

Converters are registered per source class in `convert/sources/` (one file per source family).
"""

from __future__ import annotations

import sys
import types

from . import sources  # noqa: F401 - fills the converter registry
from .checkpoint import load_user_checkpoint, read_user_state_dict
from .core import REL_TOLERANCE, ConversionError, ConversionResult, convert
from .factory import UserModel, resolve_factory
from .hostile import HOSTILE_OPS, HostileModule, find_hostile, hostile_reasons
from .registry import ConverterSpec, Unsupported, list_converters, match_converter, register_converter
from .table import ConversionRow

__all__ = ["convert", "ConversionResult", "ConversionRow", "ConversionError", "REL_TOLERANCE", "ConverterSpec",
           "Unsupported", "register_converter", "list_converters", "match_converter", "HostileModule",
           "HOSTILE_OPS", "find_hostile", "hostile_reasons", "load_user_checkpoint", "read_user_state_dict",
           "UserModel", "resolve_factory"]


class _CallableModule(types.ModuleType):
    # `edgeattn.convert` is both this package and the function users call (`edgeattn.convert(model, example=x)`):
    # a package attribute cannot be both, so the package itself forwards calls to `convert`.
    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        return convert(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
