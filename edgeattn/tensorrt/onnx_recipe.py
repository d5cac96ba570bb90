"""Recipes read off an ONNX file (host side: needs the `onnx` package, which devices do not install).

`graph_kind` tells the export which graph model.onnx holds; `recipe_from_onnx` gives runners handed a bare
model.onnx (the parity and bench harnesses, on a host with TensorRT) a static recipe. A device bundle always
ships trt_recipe.json, which `recipe.read_recipe` reads without onnx.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidOptionError
from .recipe import TrtRecipe, validate_recipe

__all__ = ["recipe_from_onnx", "graph_kind"]


def recipe_from_onnx(onnx_path: Path, precision: str = "fp32") -> TrtRecipe:
    """A static recipe read off an ONNX file's input shapes (N, C, H, W), for runners handed a bare model.onnx
    (the parity and bench harnesses export their own graphs). Dynamic graphs need a profile: use the export's
    trt_recipe.json instead."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    names, channels, shapes = [], [], []
    for v in model.graph.input:
        if v.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in v.type.tensor_type.shape.dim]
        if len(dims) != 4 or min(dims) <= 0:
            raise InvalidOptionError(
                f"{onnx_path}: input {v.name} has shape {dims or '?'}; an engine built on the fly needs static NCHW "
                "inputs (for a dynamic export, build model.engine with python -m edgeattn.tensorrt.build)")
        names.append(v.name)
        channels.append(dims[1])
        shapes.append((dims[0], dims[2], dims[3]))
    if not names or len(set(shapes)) != 1:
        raise InvalidOptionError(f"{onnx_path}: inputs {names} must share batch, height and width")
    meta = {p.key: p.value for p in model.metadata_props}
    batch, h, w = shapes[0]
    return validate_recipe(TrtRecipe(input_names=tuple(names), channels=tuple(channels), batch=batch, size=(h, w),
                                     precision=precision, graph=graph_kind(model), timing_cache=None,
                                     model=meta.get("edgeattn.model", "")))


def graph_kind(model) -> str:  # noqa: ANN001 - an onnx.ModelProto (onnx is imported lazily)
    """qdq when the graph has QuantizeLinear/DequantizeLinear nodes, fp16 when any graph input, output or
    initializer is float16 (a float16 graph with float32 islands), fp32 otherwise."""
    from onnx import TensorProto

    nodes = list(model.graph.node)
    for fn in model.functions:
        nodes += list(fn.node)
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in nodes):
        return "qdq"
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    if any(v.type.tensor_type.elem_type == TensorProto.FLOAT16 for v in values) or any(
            t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer) or any(
            n.op_type == "Cast" and any(a.name == "to" and a.i == TensorProto.FLOAT16 for a in n.attribute)
            for n in nodes):
        return "fp16"
    return "fp32"
