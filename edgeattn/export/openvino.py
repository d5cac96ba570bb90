"""ONNX -> OpenVINO IR (model.xml + model.bin)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError, MissingDependencyError

__all__ = ["convert_to_openvino"]


def convert_to_openvino(onnx_path: Path, out_dir: Path, *, fp16_weights: bool = False) -> list[Path]:
    """Convert; weights stay fp32 unless `fp16_weights` (OpenVINO's save_model compresses by default)."""
    from .._openvino import import_openvino, telemetry_off

    try:
        ov = import_openvino()
    except ImportError:
        raise MissingDependencyError("--target openvino needs OpenVINO: pip install 'edgeattn[openvino]'") from None
    try:
        from ..ops import openvino_conversion_extensions
    except ImportError:
        extensions = []
    else:
        extensions = openvino_conversion_extensions()
    try:
        with telemetry_off():  # convert_model re-decides OpenVINO's telemetry consent (edgeattn/_openvino.py)
            model = ov.convert_model(str(onnx_path), extension=extensions or None)
        xml = Path(out_dir) / "model.xml"
        ov.save_model(model, str(xml), compress_to_fp16=fp16_weights)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"OpenVINO could not convert the ONNX model: {first[:300]}") from exc
    return [xml, xml.with_suffix(".bin")]
