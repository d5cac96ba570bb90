"""torch -> ONNX.

edgeattn exports with the TorchScript-based exporter (`dynamo=False`) by default and offers the
torch.export-based one (`exporter="dynamo"`). Why TorchScript is the default with torch 2.13:
  * it writes the opset that was asked for: the dynamo exporter implements opset >= 18 only and, when its
    down-conversion fails (it does on Pad), silently keeps 18 -- TensorRT on JetPack 6 wants <= 20 and
    some deployed runtimes older opsets;
  * it is 10-40x faster on these models (0.4 s vs 5-19 s for lga_mobilenet), which matters for a CLI and
    for a test suite that exports every model;
  * custom-domain nodes come from `autograd.Function.symbolic` there; the dynamo exporter ignores `symbolic`,
    so under it the ops emit their node with `torch.onnx.ops.symbolic` (edgeattn/ops: both routes tested).
Both outputs go through the same simplification, audit and parity, so either can be trusted as far as
the parity table says.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import onnx
import torch
from torch import nn

from ..errors import ExportError, unknown

__all__ = ["EXPORTERS", "export_onnx", "DYNAMIC_AXES"]

EXPORTERS = ("torchscript", "dynamo")
DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def export_onnx(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    *,
    input_names: Sequence[str],
    output_name: str,
    opset: int = 17,
    dynamic: bool = False,
    exporter: str = "torchscript",
    custom_opsets: dict[str, int] | None = None,
) -> onnx.ModelProto:
    """Export `model` (already in eval mode, export path selected) and return the ONNX model in memory."""
    if exporter not in EXPORTERS:
        raise unknown("exporter", exporter, EXPORTERS)
    inputs = tuple(inputs)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            if exporter == "torchscript":
                proto = _export_torchscript(model, inputs, input_names, output_name, opset, dynamic, custom_opsets)
            else:
                proto = _export_dynamo(model, inputs, input_names, output_name, opset, dynamic)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"torch.onnx ({exporter}) could not export the model: {_first_line(exc)}") from exc
    return proto


def _export_torchscript(model, inputs, input_names, output_name, opset, dynamic, custom_opsets) -> onnx.ModelProto:
    axes = None
    if dynamic:
        axes = {name: dict(DYNAMIC_AXES) for name in [*input_names, output_name]}
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        inputs,
        buf,
        dynamo=False,
        opset_version=opset,
        input_names=list(input_names),
        output_names=[output_name],
        dynamic_axes=axes,
        do_constant_folding=True,
        custom_opsets=custom_opsets,
    )
    return onnx.load_from_string(buf.getvalue())


def _export_dynamo(model, inputs, input_names, output_name, opset, dynamic) -> onnx.ModelProto:
    # The dynamo exporter logs (as warnings, on every run) each torchvision op it cannot register; edgeattn uses no
    # torchvision op, so that is noise before edgeattn's own messages. Errors still surface as exceptions.
    import logging

    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    shapes = None
    if dynamic:
        dims = {
            0: torch.export.Dim.AUTO,
            2: torch.export.Dim.AUTO,
            3: torch.export.Dim.AUTO,
        }
        shapes = tuple(dict(dims) for _ in inputs)
    program = torch.onnx.export(
        model,
        inputs,
        dynamo=True,
        external_data=False,
        opset_version=opset,
        input_names=list(input_names),
        output_names=[output_name],
        dynamic_shapes=shapes,
        verbose=False,
    )
    proto = program.model_proto
    got = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if got != opset:
        raise ExportError(
            f"the dynamo exporter wrote opset {got}, not the requested {opset} (it implements opset >= 18 only "
            f"and could not convert down). Use --exporter torchscript, or --opset {got}."
        )
    return proto
