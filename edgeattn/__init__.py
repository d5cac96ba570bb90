"""edgeattn: efficient-attention vision models with export paths proven equivalent across runtimes.

Public API (small on purpose): create_model, list_models, export, convert, verify_bundle, load_runtime, compare.
Attributes are resolved lazily (PEP 562): `import edgeattn` imports nothing heavy, so the device side
(`edgeattn.verify`, `edgeattn.bundle`) runs with numpy and one runtime and no PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import EdgeAttnError  # pure Python

# public name -> (module, attribute)
_LAZY = {
    "create_model": ("edgeattn.models", "create_model"),
    "list_models": ("edgeattn.models", "list_models"),
    "compare": ("edgeattn.verify.compare", "compare"),
    "load_runtime": ("edgeattn.runtimes", "load_runtime"),
    "verify_bundle": ("edgeattn.verify", "verify_bundle"),
    "convert": ("edgeattn.convert", ""),  # the package is callable: edgeattn.convert(model, example=x)
}

if TYPE_CHECKING:  # pragma: no cover
    from .models import create_model, list_models
    from .runtimes import load_runtime
    from .verify import verify_bundle
    from .verify.compare import compare


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        value = getattr(value, attr) if attr else value
        globals()[name] = value
        return value
    raise AttributeError(f"module 'edgeattn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def export(config, *, verify: bool = True):  # noqa: ANN001, ANN201 - thin lazy wrapper
    """Export for an `edgeattn.export.ExportConfig` and verify the staged bundle (as the CLI does).

    The pipeline itself never imports verify: the verifier is handed to it here (see ARCHITECTURE.md).
    """
    from .export.pipeline import export as _export

    if verify:
        from .verify import verify_bundle as _verify

        return _export(config, verifier=_verify)
    return _export(config)


__all__ = ["__version__", "EdgeAttnError", "create_model", "list_models", "export", "convert", "verify_bundle",
           "load_runtime", "compare"]
