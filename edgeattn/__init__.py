"""edgeattn: efficient-attention vision models with export paths proven equivalent across runtimes.

Public API (small on purpose): create_model, list_models, export, load_runtime, compare.
Importing edgeattn imports neither torch nor a runtime: the names below load their modules on first use, so the
device side (verify, the TensorRT build, runner and bench) runs where torch is not installed.
"""

__version__ = "0.1.0"

from .errors import EdgeAttnError  # noqa: E402

_LAZY = {"create_model": "models", "list_models": "models", "compare": "parity", "load_runtime": "runtimes"}


def __getattr__(name: str):  # PEP 562: resolve the public API lazily
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def export(config):  # noqa: ANN001, ANN201 - thin lazy wrapper, see edgeattn.export.export
    """Run the export job for an `edgeattn.export.ExportConfig`; see `edgeattn.export.pipeline.export`."""
    from .export.pipeline import export as _export

    return _export(config)


__all__ = ["__version__", "EdgeAttnError", "create_model", "list_models", "export", "load_runtime", "compare"]
