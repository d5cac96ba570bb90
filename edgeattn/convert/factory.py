"""Resolve `--model my_pkg.nets:build_ccnet` or `--model path/to/file.py:factory` into a user model.

The factory is called without arguments and must return an `nn.Module` whose forward takes one image tensor
(B, C, H, W). Every failure is an EdgeAttnError with one line (exit status 2): malformed spec, module or file
not found, an import inside the user's module failing (named), factory not found (with close matches), the
factory raising or calling sys.exit (exception type and message), returning something that is not one nn.Module
(a tuple of models, None, ...), or a model on another device than the CPU.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..errors import InvalidOptionError, UnknownNameError, suggest

__all__ = ["UserModel", "is_factory_spec", "resolve_factory", "build_user_model"]


@dataclass(frozen=True)
class UserModel:
    spec: str  # as given: "pkg.mod:fn" or "path/file.py:fn"
    name: str  # a name for the bundle folder: the factory's name
    factory: Callable[[], nn.Module]


def is_factory_spec(text: str) -> bool:
    """A user factory is written `module:function` or `file.py:function`; registered model names have no colon."""
    return ":" in text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _load_module(target: str, spec: str):  # noqa: ANN202
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise InvalidOptionError(f"--model {spec!r}: file {target!r} not found")
        name = f"edgeattn_user_{abs(hash(str(path.resolve())))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise InvalidOptionError(f"--model {spec!r}: {target!r} is not a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))  # sibling imports of the user's file
        try:
            mod_spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code: report, don't trace (or exit)
            sys.modules.pop(name, None)
            raise InvalidOptionError(f"--model {spec!r}: importing {target!r} raised {type(exc).__name__}: "
                                     f"{_first_line(exc)}") from None
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and (target == exc.name or target.startswith(exc.name + ".")):
            raise InvalidOptionError(f"--model {spec!r}: module {target!r} not found (is it on PYTHONPATH, or "
                                     "give a file path: path/to/file.py:factory)") from None
        raise InvalidOptionError(f"--model {spec!r}: importing {target!r} failed: {_first_line(exc)}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise InvalidOptionError(f"--model {spec!r}: importing {target!r} raised {type(exc).__name__}: "
                                 f"{_first_line(exc)}") from None


def resolve_factory(spec: str) -> UserModel:
    target, sep, fn_name = spec.rpartition(":")
    if not sep or not target or not fn_name.isidentifier():
        raise InvalidOptionError(f"--model {spec!r}: expected module:factory or path/to/file.py:factory")
    module = _load_module(target, spec)
    fn = getattr(module, fn_name, None)
    if fn is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise UnknownNameError(f"--model {spec!r}: factory {fn_name!r} not found in {target!r}."
                               f"{suggest(fn_name, names)}")
    if not callable(fn):
        raise InvalidOptionError(f"--model {spec!r}: {fn_name!r} is not callable")
    return UserModel(spec, fn_name, fn)


def build_user_model(user: UserModel) -> nn.Module:
    try:
        model = user.factory()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code (a .cuda() without CUDA, sys.exit, ...)
        raise InvalidOptionError(f"--model {user.spec!r}: the factory raised {type(exc).__name__}: "
                                 f"{_first_line(exc)}") from None
    if not isinstance(model, nn.Module):
        what = f"a {type(model).__name__} of {len(model)}" if isinstance(model, (tuple, list)) else \
            type(model).__name__
        raise InvalidOptionError(f"--model {user.spec!r}: the factory returned {what}, expected one "
                                 "torch.nn.Module (return the model itself)")
    devices = sorted({str(t.device) for t in (*model.parameters(), *model.buffers()) if t.device.type != "cpu"})
    if devices:
        raise InvalidOptionError(f"--model {user.spec!r}: the factory put the model on {', '.join(devices)}; "
                                 "edgeattn exports from the CPU: return the model without .cuda()/.to(device)")
    return model

