"""One-node ONNX graphs of the custom ops (dynamic batch, channels, H, W) and a Core with the compiled library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from edgeattn.native import host_arch, library_path
from edgeattn.ops.criss_cross import criss_cross_np
from edgeattn.ops.patchmatch import PatchMatchParams, patchmatch_attention_np

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


PM = {  # name: (attrs, masked, batch, Cm, C, sizes)
    "pm_agg_unmasked_p3": (dict(knn=3, patch_size=3, n_iters=2, aggregate=1, seed=2, masked=0), [(7, 9), (12, 5)]),
    "pm_plain_masked_p3": (dict(knn=3, patch_size=3, n_iters=3, aggregate=0, seed=0, masked=1), [(9, 7), (16, 13)]),
    "pm_agg_masked_p5": (dict(knn=2, patch_size=5, n_iters=2, aggregate=1, seed=7, masked=1), [(11, 9)]),
}


def write_kernel_cases(folder: Path, arm_default_precision: bool = True) -> None:
    """Cases for `python -m edgeattn.native.kernel_check` (run in another process: under emulation): one-op IRs,
    inputs and the numpy reference path's outputs computed here. `arm_default_precision`: add criss-cross at the
    CPU's default precision with the reference on f16-rounded inputs (ARM's default is f16; x86's is f32)."""
    import openvino as ov

    c, rng, cases = core(), np.random.default_rng(0), []

    def ir(name, model):  # noqa: ANN001, ANN202
        ov.save_model(c.read_model(model.SerializeToString(), b""), str(folder / f"{name}.xml"),
                      compress_to_fp16=False)
        return f"{name}.xml"

    inputs = []
    for i, (b, ck, cv, h, w) in enumerate([(2, 3, 5, 7, 9), (1, 2, 3, 11, 1), (2, 8, 16, 13, 70)]):
        feeds = {"q": randn(rng, b, ck, h, w), "k": randn(rng, b, ck, h, w), "v": randn(rng, b, cv, h, w)}
        np.savez(folder / f"cc{i}.npz", expected=criss_cross_np(**feeds), **feeds)
        inputs.append(f"cc{i}.npz")
    cases.append({"name": "criss_cross", "xml": ir("criss_cross", criss_cross_model()), "inputs": inputs})
    # ARM's default precision (f16): the plugin hands the op f16 tensors; reference on the f16-rounded inputs
    feeds = {"q": randn(rng, 2, 4, 9, 11), "k": randn(rng, 2, 4, 9, 11), "v": randn(rng, 2, 5, 9, 11)}
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    if arm_default_precision:
        np.savez(folder / "cc_f16.npz", expected=criss_cross_np(**half), **feeds)
        cases.append({"name": "criss_cross_default_precision", "xml": "criss_cross.xml", "inputs": ["cc_f16.npz"],
                      "hint": "default"})
    for name, (attrs, sizes) in PM.items():
        attrs = {**attrs, "temperature": 4.0}
        prm = PatchMatchParams(knn=attrs["knn"], patch_size=attrs["patch_size"], n_iters=attrs["n_iters"],
                               temperature=4.0, aggregate=bool(attrs["aggregate"]), seed=attrs["seed"])
        inputs = []
        for j, (h, w) in enumerate(sizes):
            feeds = {"q": randn(rng, 2, 4, h, w), "k": randn(rng, 2, 4, h, w), "v": randn(rng, 2, 3, h, w),
                     "mask": (rng.random((2, 1, h, w)) < 0.4).astype(np.float32)}
            want = patchmatch_attention_np(feeds["q"], feeds["k"], feeds["v"], feeds["mask"], prm,
                                           bool(attrs["masked"]))
            np.savez(folder / f"{name}{j}.npz", expected=want, **feeds)
            inputs.append(f"{name}{j}.npz")
        cases.append({"name": name, "xml": ir(name, patchmatch_model(**attrs)), "inputs": inputs})
    (folder / "cases.json").write_text(json.dumps({"cases": cases}))
