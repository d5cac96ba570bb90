"""A float16 ONNX with float32 islands: the fp16 graph TensorRT builds as a strongly typed network.

TensorRT 11 removed the FP16 builder flag: fp16 now means the ONNX itself is float16 (what NVIDIA ModelOpt's
AutoCast writes). Ops whose intermediate values overflow or lose too much in float16 stay float32 ("islands"):
softmax and log-softmax, normalisations (Layer/Instance/Group/BatchNorm), reductions (sums and means over many
elements exceed 65504 or lose low bits), exponentials, powers, square roots and normalising divisions.

Conversion (graph inputs and outputs stay float32, as the bundle contract says):
- float32 initializers and Constant tensors become float16, except where an island or a float32-only operand
  (Resize's roi/scales) consumes them (a float32 copy is kept for those);
- each graph input gets a Cast to float16, each graph output a Cast back to float32;
- each island op reads its float inputs through a Cast to float32 (or directly, from another island) and writes
  through a Cast to float16 for the float16 ops that consume it.
Non-float tensors (shapes, indices) are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["ISLAND_OPS", "to_float16", "island_nodes"]

ISLAND_OPS = frozenset({
    "Softmax", "LogSoftmax", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
    "BatchNormalization", "ReduceSum", "ReduceMean", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp", "Exp",
    "Pow", "Sqrt", "Div", "Reciprocal",
})
# (op, input index) operands that the ONNX spec types as float32 whatever the data type is.
_FLOAT32_OPERANDS = {("Resize", 1), ("Resize", 2)}
F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def island_nodes(model: onnx.ModelProto, ops: Iterable[str] = ISLAND_OPS) -> list[str]:
    ops = set(ops)
    return [n.name or n.output[0] for n in model.graph.node if n.op_type in ops]


def _float_tensors(model: onnx.ModelProto) -> set[str]:
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    floats = {v.name for v in [*g.value_info, *g.input, *g.output] if v.type.tensor_type.elem_type == F32}
    floats |= {i.name for i in g.initializer if i.data_type == F32}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.t.data_type == F32:
                    floats.add(n.output[0])
    return floats


def to_float16(model: onnx.ModelProto, islands: Iterable[str] = ISLAND_OPS) -> onnx.ModelProto:
    """Return a float16 copy of `model` with the ops of types `islands` kept in float32."""
    island_types = set(islands)
    src = model
    floats = _float_tensors(src)
    g = src.graph
    inits = {i.name: i for i in g.initializer}
    nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    cast_cache: dict[tuple[str, int], str] = {}

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in cast_cache:
            out = f"{name}__{'f32' if to == F32 else 'f16'}"
            nodes.append(helper.make_node("Cast", [name], [out], name=f"{out}/Cast", to=to))
            cast_cache[key] = out
        return cast_cache[key]

    # Graph inputs: float32 outside, float16 inside.
    rename: dict[str, str] = {}
    for i in g.input:
        if i.name in floats and i.name not in inits:
            rename[i.name] = cast(i.name, F16)
    f32_inits: dict[str, str] = {}  # initializer -> name of its float32 copy
    for name, t in inits.items():
        if t.data_type == F32:
            arr = numpy_helper.to_array(t)
            new_inits.append(numpy_helper.from_array(arr.astype(np.float16), name))
        else:
            new_inits.append(t)

    def f32_copy(name: str) -> str:
        if name not in f32_inits:
            f32_inits[name] = f"{name}__f32const"
            new_inits.append(numpy_helper.from_array(numpy_helper.to_array(inits[name]).astype(np.float32),
                                                     f32_inits[name]))
        return f32_inits[name]

    out_names = {o.name for o in g.output}
    island_f32: dict[str, str] = {}  # island output -> its float32 tensor
    for n in g.node:
        n = onnx.NodeProto.FromString(n.SerializeToString())
        ins = [rename.get(x, x) for x in n.input]
        island = n.op_type in island_types
        if n.op_type in ("Constant", "ConstantOfShape"):
            for a in n.attribute:
                if a.name == "value" and a.t.data_type == F32:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
        if n.op_type == "Cast" and not island:
            # A float32 made inside the graph (e.g. a mask computed from the dynamic shape) joins the float16 ops
            # that consume it: cast straight to float16 (islands still read it through their float32 Cast).
            for a in n.attribute:
                if a.name == "to" and a.i == F32:
                    a.i = F16
        for k, x in enumerate(n.input):
            if not x or x not in floats:
                continue
            need32 = island or (n.op_type, k) in _FLOAT32_OPERANDS
            if not need32:
                continue
            if x in inits:
                ins[k] = f32_copy(x)
            elif x in island_f32:  # island -> island: stays float32 (a sum may exceed float16's range)
                ins[k] = island_f32[x]
            else:
                ins[k] = cast(ins[k], F32)
        del n.input[:]
        n.input.extend(ins)
        if island:
            outs = list(n.output)
            for k, y in enumerate(outs):
                if y in floats:
                    n.output[k] = f"{y}__island"
                    island_f32[y] = f"{y}__island"
            nodes.append(n)
            for y in outs:
                if y in floats:
                    nodes.append(helper.make_node("Cast", [f"{y}__island"], [y], name=f"{y}/CastF16", to=F16))
        else:
            nodes.append(n)
    # Graph outputs: float16 inside, float32 outside.
    for o in g.output:
        if o.name in floats:
            internal = f"{o.name}__f16out"
            for n in nodes:
                for k, y in enumerate(n.output):
                    if y == o.name:
                        n.output[k] = internal
                for k, x in enumerate(n.input):
                    if x == o.name:
                        n.input[k] = internal
            nodes.append(helper.make_node("Cast", [internal], [o.name], name=f"{o.name}/CastF32", to=F32))
    used = {x for n in nodes for x in n.input}
    new_inits = [t for t in new_inits if t.name in used or t.name in out_names]
    graph = helper.make_graph(nodes, g.name, list(g.input), list(g.output), new_inits)
    out = helper.make_model(graph, opset_imports=list(src.opset_import), producer_name=src.producer_name,
                            producer_version=src.producer_version)
    out.ir_version = src.ir_version
    for p in src.metadata_props:
        out.metadata_props.add(key=p.key, value=p.value)
    out.metadata_props.add(key="edgeattn.precision", value="fp16 with float32 islands: " + ",".join(
        sorted(island_types & {n.op_type for n in g.node})))
    onnx.checker.check_model(out)
    return out
