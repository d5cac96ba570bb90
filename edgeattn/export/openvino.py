"""ONNX -> OpenVINO IR (model.xml + model.bin)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError, MissingDependencyError, install_hint

__all__ = ["convert_to_openvino", "CUSTOM_OP_LOAD_HINT", "custom_op_layers", "custom_op_note"]

#: how to load an IR whose layers are edgeattn custom ops (plain openvino.Core.read_model cannot create them)
CUSTOM_OP_LOAD_HINT = (
    "load it with edgeattn's runtime (edgeattn.load_runtime('openvino', 'model.xml') or python -m edgeattn.verify "
    "BUNDLE --runtimes openvino), or register edgeattn's OpenVINO extension on your own Core first: "
    "`from edgeattn.ops import register_openvino_extensions; register_openvino_extensions(core)` "
    "(needs edgeattn installed)")


def custom_op_layers(xml_path: Path, opset: str = "extension") -> list[str]:
    """Types of the IR's layers of `opset`: "extension" (Python ops, e.g. EdgeAttnCrissCross) or "edgeattn"
    (the compiled ops of edgeattn/native)."""
    import xml.etree.ElementTree as ET

    root = ET.parse(str(xml_path)).getroot()
    return sorted({layer.get("type", "?") for layer in root.iter("layer") if layer.get("version") == opset})


def custom_op_note(xml_path: Path, library: str | None = None) -> str | None:
    """The manifest note for an IR with custom-op layers, or None for a plain IR (`library`: the bundle-relative
    path of the shipped extension library, for an IR of compiled ops)."""
    native = custom_op_layers(xml_path, "edgeattn")
    if native:
        return (f"model.xml has edgeattn custom-op layers ({', '.join(native)}) whose compiled kernels ship in "
                f"{library}: any OpenVINO program of the same release loads it with core.add_extension(<that "
                "file>) before read_model (Python or C++; no edgeattn needed); edgeattn.verify checks its hash first")
    layers = custom_op_layers(xml_path)
    if not layers:
        return None
    return (f"model.xml has edgeattn custom-op layers ({', '.join(layers)}) that plain OpenVINO cannot create "
            f"(\"unsupported opset: extension\"): {CUSTOM_OP_LOAD_HINT}")


def convert_to_openvino(onnx_path: Path, out_dir: Path, *, fp16_weights: bool = False,
                        library: Path | None = None) -> list[Path]:
    """Convert; weights stay fp32 unless `fp16_weights` (OpenVINO's save_model compresses by default). With
    `library` (edgeattn's compiled extension) the custom nodes become its ops; else edgeattn's Python mappings."""
    from .._openvino import import_openvino, telemetry_off

    try:
        ov = import_openvino()
    except ImportError:
        raise MissingDependencyError(f"--target openvino needs OpenVINO: {install_hint('openvino')}") from None
    if library is not None:
        extensions = [str(library)]
    else:
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
