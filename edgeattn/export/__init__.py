"""torch -> ONNX -> target artefacts, with op audit and parity. CLI: python -m edgeattn.export."""

from .config import ExportConfig, parse_size
from .pipeline import ExportResult, export
from .targets import TARGETS

__all__ = ["ExportConfig", "ExportResult", "TARGETS", "export", "parse_size"]
