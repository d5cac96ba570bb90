"""One-node ONNX graphs of the custom ops (dynamic batch, channels, H, W) and a Core with the compiled library."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from edgeattn.native import host_arch, library_path

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def _model(op: str, inputs: list[str], attrs: dict) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["B", f"C_{n}", "H", "W"]) for n in inputs]
    node = helper.make_node(op, inputs, ["y"], domain="edgeattn", plugin_namespace="edgeattn", **attrs)
    graph = helper.make_graph([node], op, ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("edgeattn", 1)])


def criss_cross_model(version: str = "1") -> onnx.ModelProto:
    return _model("EdgeAttnCrissCross", ["q", "k", "v"], {"plugin_version": version})


def patchmatch_model(**attrs) -> onnx.ModelProto:
    return _model("EdgeAttnPatchMatch", ["q", "k", "v", "mask"], {"plugin_version": "2", **attrs})


def core():  # noqa: ANN201 - openvino.Core
    import openvino as ov

    c = ov.Core()
    c.add_extension(str(library_path(host_arch())))
    return c


def compile_onnx(model: onnx.ModelProto, threads: int = 2):  # noqa: ANN201
    c = core()
    model = c.read_model(model.SerializeToString(), b"")
    return c.compile_model(model, "CPU", {**F32, "INFERENCE_NUM_THREADS": threads})


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)
