"""INT8 for OpenVINO: NNCF post-training quantization of the IR, with the same float set as ORT.

The fp32 ONNX is converted to an `openvino.Model`; NNCF inserts FakeQuantize nodes (per-channel symmetric
weights, per-tensor activations, NNCF's default PERFORMANCE preset and min-max range estimators with fast bias
correction), calibrated on the same calibration feeds as the ORT path. The nodes kept in float are passed as an
`nncf.IgnoredScope` of OpenVINO node names: the ONNX frontend names each op after its ONNX node (a Conv with a
bias becomes `<name>/WithoutBiases` + `<name>`), so a kept ONNX node matches every OV op named `<name>` or
`<name>/...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError

__all__ = ["quantize_openvino", "ignored_names", "NNCF_SETTINGS"]

NNCF_SETTINGS = {"preset": "PERFORMANCE (symmetric activations)", "subset": "all calibration feeds",
                 "fast_bias_correction": True, "model_type": "default (TRANSFORMER only matters for Softmax->MatMul, "
                 "which the float set already covers)"}


def _nncf():
    try:
        import nncf
    except ImportError:
        raise MissingDependencyError("--target openvino --precision int8 needs NNCF: pip install "
                                     "'edgeattn[openvino-int8]' (or -e '.[openvino-int8]' in a checkout)") from None
    return nncf


def ignored_names(ov_model, onnx_nodes: Sequence[str]) -> list[str]:
    """OpenVINO op names that come from the ONNX nodes `onnx_nodes`."""
    wanted = set(onnx_nodes)
    out = []
    for op in ov_model.get_ordered_ops():
        name = op.get_friendly_name()
        if name in wanted or name.rsplit("/", 1)[0] in wanted:
            out.append(name)
    return out


def quantize_openvino(onnx_path: Path, calibration: Sequence[dict[str, np.ndarray]], keep_float: Sequence[str]):
    """Return the quantized `openvino.Model` and the OV names kept in float."""
    nncf = _nncf()
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    names = ignored_names(model, keep_float)
    scope = nncf.IgnoredScope(names=names, validate=False) if names else None
    dataset = nncf.Dataset(list(calibration))
    kwargs = {"subset_size": len(calibration), "preset": nncf.QuantizationPreset.PERFORMANCE}
    if scope is not None:
        kwargs["ignored_scope"] = scope
    quantized = nncf.quantize(model, dataset, **kwargs)
    return quantized, names
