"""edgeattn: efficient-attention vision models with export paths proven equivalent across runtimes.

Public API (small on purpose): create_model, list_models, export, convert, load_runtime, compare.
Importing edgeattn needs only torch and onnx; runtimes are imported when used.
"""

__version__ = "0.1.0"

from . import convert  # noqa: E402 - callable package: edgeattn.convert(model, example=x)
from .errors import EdgeAttnError  # noqa: E402
from .models import create_model, list_models  # noqa: E402
from .parity import compare  # noqa: E402
from .runtimes import load_runtime  # noqa: E402


def export(config):  # noqa: ANN001, ANN201 - thin lazy wrapper, see edgeattn.export.export
    """Run the export job for an `edgeattn.export.ExportConfig`; see `edgeattn.export.pipeline.export`."""
    from .export.pipeline import export as _export

    return _export(config)


__all__ = ["__version__", "EdgeAttnError", "create_model", "list_models", "export", "convert", "load_runtime",
           "compare"]
