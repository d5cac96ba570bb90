"""A small hand-made bundle in the layout of docs/bundle-format.md, for the TensorRT tools' host-side tests:
a 1x3x16x16 -> 1x2x16x16 Conv graph, its recipe and build script, one reference case, a manifest hashing all."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeattn.tensorrt.commands import write_build_script
from edgeattn.tensorrt.recipe import TrtRecipe, write_recipe


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_bundle(folder: Path, precision: str = "fp32", plugins: dict[str, bytes] | None = None, **recipe_kw) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["logits"], pads=[1, 1, 1, 1])], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 16, 16])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(folder / "model.onnx"))
    for name, blob in (plugins or {}).items():
        (folder / name).write_bytes(blob)
    graph_kind = {"fp32": "fp32", "fp16": "fp16", "int8": "qdq"}[precision]
    recipe = TrtRecipe(input_names=("image",), channels=(3,), batch=1, size=(16, 16), precision=precision,
                       graph=recipe_kw.pop("graph", graph_kind), model="tiny", plugins=tuple(plugins or ()),
                       **recipe_kw)
    write_recipe(recipe, folder)
    write_build_script(recipe, folder)
    case = folder / "reference" / "16x16"
    case.mkdir(parents=True)
    x = rng.random((1, 3, 16, 16), dtype=np.float32)
    np.savez(case / "inputs.npz", image=x)
    np.savez(case / "outputs.npz", logits=np.zeros((1, 2, 16, 16), np.float32))
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    manifest = {
        "format": "edgeattn-bundle/1", "model": "tiny", "task": "segmentation", "target": "trt",
        "precision": precision,
        "files": {p.relative_to(folder).as_posix(): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files},
        "reference": {"cases": [{"name": "16x16", "batch": 1, "size": [16, 16],
                                 "inputs": "reference/16x16/inputs.npz", "outputs": "reference/16x16/outputs.npz"}]},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder
