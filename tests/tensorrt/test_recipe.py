"""TensorRT recipe: option validation, optimisation profiles, graph kinds, the JSON file."""

import json
import re

import numpy as np
import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.tensorrt.recipe import (
    ProfileShapes,
    TrtRecipe,
    format_profile,
    profile_shapes,
    read_recipe,
    recipe_for_export,
    validate_recipe,
    write_recipe,
)
from edgeattn.tensorrt.onnx_recipe import graph_kind, recipe_from_onnx


def _recipe(**kw):
    base = dict(input_names=("image",), channels=(3,), batch=2, size=(64, 96), model="lga_mobilenet")
    return TrtRecipe(**{**base, **kw})


def test_static_profile_is_the_export_shape():
    assert profile_shapes(_recipe()) == {"image": ProfileShapes((2, 3, 64, 96), (2, 3, 64, 96), (2, 3, 64, 96))}


def test_dynamic_profile_defaults_and_explicit_bounds():
    p = profile_shapes(_recipe(dynamic=True, min_size=(32, 48)))["image"]
    assert p == ProfileShapes((1, 3, 32, 48), (2, 3, 64, 96), (2, 3, 128, 192))  # max: twice the export size
    p = profile_shapes(_recipe(dynamic=True, min_size=(32, 32), max_size=(256, 512), max_batch=4))["image"]
    assert p.max == (4, 3, 256, 512)
    two = _recipe(input_names=("image", "mask"), channels=(3, 1), dynamic=True)
    assert profile_shapes(two)["mask"].opt == (2, 1, 64, 96)


@pytest.mark.parametrize("kw, match", [
    (dict(precision="int4"), "precision"),
    (dict(workspace_mib=0), "--workspace"),
    (dict(dla_core=-1), "--dla-core must be >= 0"),
    (dict(dla_core=0), "DLA has no FP32"),
    (dict(dla_core=0, precision="fp16", dynamic=True), "static graph"),
    (dict(dynamic=True, min_size=(80, 32)), "min <= opt <= max"),
    (dict(dynamic=True, max_size=(64, 64)), "fix --min-size"),
    (dict(max_size=(128, 128)), "need --dynamic"),
    (dict(dynamic=True, max_batch=1), "below --batch"),
    (dict(channels=(3, 1)), "one channel count per input"),
    (dict(precision="int8"), "explicitly quantized model.onnx"),  # fp32 graph: on-device calibration is gone
    (dict(precision="fp32", graph="qdq"), "qdq graph but the bundle's precision is fp32"),
    (dict(precision="int8", graph="fp16"), "explicitly quantized"),
    (dict(graph="bf16"), "graph 'bf16'"),
    (dict(plugins=("/opt/lib.so",)), "not a path inside the bundle"),
    (dict(plugins=("../lib.so",)), "not a path inside the bundle"),
])
def test_invalid_options_say_which_flag(kw, match):
    with pytest.raises(InvalidOptionError, match=match):
        validate_recipe(_recipe(**kw))


def test_valid_dla_recipe():
    assert validate_recipe(_recipe(dla_core=1, precision="int8", graph="qdq")).dla_core == 1


@pytest.mark.parametrize("precision, graph", [("fp32", "fp32"), ("fp16", "fp16"), ("fp16", "fp32"), ("int8", "qdq")])
def test_precision_graph_pairs_that_build(precision, graph):
    assert validate_recipe(_recipe(precision=precision, graph=graph)).graph == graph


def test_profile_prints_readably_not_as_a_repr():
    static = format_profile(profile_shapes(_recipe()))
    assert static == "image 2x3x64x96"
    dynamic = format_profile(profile_shapes(_recipe(dynamic=True, min_size=(32, 32))))
    assert dynamic == "image min 1x3x32x32, opt 2x3x64x96, max 2x3x128x192" and "ProfileShapes" not in dynamic


def test_recipe_for_export_checks_min_size_against_the_model():
    kw = dict(model="m", input_names=("image",), channels=(3,), batch=1, size=(64, 64), precision="fp32",
              model_min_size=32)
    assert recipe_for_export(dynamic=True, **kw).min_size == (32, 32)
    with pytest.raises(InvalidOptionError, match="below the model's minimum"):
        recipe_for_export(dynamic=True, min_size=(16, 16), **kw)
    with pytest.raises(InvalidOptionError, match="--min-size needs --dynamic"):
        recipe_for_export(dynamic=False, min_size=(32, 32), **kw)


def test_recipe_json_round_trip(tmp_path):
    r = _recipe(dynamic=True, min_size=(32, 32), plugins=("a.so",), custom_ops=("CrissCross",))
    write_recipe(r, tmp_path)
    assert read_recipe(tmp_path) == r
    (tmp_path / "trt_recipe.json").write_text('{"bogus": 1}')
    with pytest.raises(InvalidOptionError, match="unknown keys"):
        read_recipe(tmp_path)
    with pytest.raises(InvalidOptionError, match="export with --target trt"):
        read_recipe(tmp_path / "nowhere")


@pytest.mark.parametrize("content, match", [
    ("", "not readable JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"input_names": ["image"]}', "lacks channels, batch, size"),
    ('{"input_names": ["image"], "channels": [3], "batch": "two", "size": [8, 8]}', "batch must be an integer"),
    ('{"input_names": ["image"], "channels": [3], "batch": 1, "size": "8x8"}', "size must be [height, width]"),
    ('{"input_names": 3, "channels": [3], "batch": 1, "size": [8, 8]}', "input_names must be a list of strings"),
    ('{"input_names": ["image"], "channels": [3], "batch": 1, "size": [8, 8], "plugins": [1]}',
     "plugins must be a list of paths"),
    ('{"input_names": ["image"], "channels": [3], "batch": 1, "size": [8, 8], "graph": 16}', "graph must be"),
    ('{"input_names": ["image"], "channels": [3], "batch": 1, "size": [8, 8], "calib_cache": "c", '
     '"calib_batches": 8}', "no longer does"),
])
def test_malformed_recipe_files_are_one_line_errors(tmp_path, content, match):
    (tmp_path / "trt_recipe.json").write_text(content)
    with pytest.raises(InvalidOptionError, match=re.escape(match)) as info:
        read_recipe(tmp_path)
    assert "\n" not in str(info.value)


def _onnx(tmp_path, shapes, meta=None, elem=1):
    import onnx
    from onnx import helper

    inputs = [helper.make_tensor_value_info(n, elem, s) for n, s in shapes.items()]
    nodes = [helper.make_node("Identity", [next(iter(shapes))], ["y"])]
    m = helper.make_model(helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", elem, None)]))
    for k, v in (meta or {}).items():
        m.metadata_props.add(key=k, value=v)
    path = tmp_path / "model.onnx"
    onnx.save(m, str(path))
    return path


def test_recipe_from_a_static_onnx(tmp_path):
    path = _onnx(tmp_path, {"image": [2, 3, 64, 96], "mask": [2, 1, 64, 96]}, {"edgeattn.model": "psal_inpaint"})
    r = recipe_from_onnx(path, "fp16")
    assert (r.input_names, r.channels, r.batch, r.size) == (("image", "mask"), (3, 1), 2, (64, 96))
    assert r.precision == "fp16" and r.model == "psal_inpaint" and r.timing_cache is None and not r.dynamic
    assert r.graph == "fp32"  # a float32 graph asked to run fp16: TensorRT 10.x's FP16 flag


def _qdq_model():
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
             numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    return helper.make_model(helper.make_graph(nodes, "qdq", [x], [y], inits))


def _fp16_island_model():
    # float32 I/O, float16 inside, Softmax kept in float32 (the island): Cast -> Relu(f16) -> Cast -> Softmax(f32)
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT16), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Cast", ["r"], ["f"], to=TensorProto.FLOAT), helper.make_node("Softmax", ["f"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    return helper.make_model(helper.make_graph(nodes, "f16", [x], [y]))


def test_graph_kind_reads_what_the_onnx_holds(tmp_path):
    import onnx
    from onnx import TensorProto

    assert graph_kind(_qdq_model()) == "qdq"
    assert graph_kind(_fp16_island_model()) == "fp16"  # float32 I/O, float16 inside
    assert graph_kind(onnx.load(str(_onnx(tmp_path, {"image": [1, 3, 8, 8]})))) == "fp32"
    assert graph_kind(onnx.load(str(_onnx(tmp_path, {"image": [1, 3, 8, 8]}, elem=TensorProto.FLOAT16)))) == "fp16"


def test_recipe_from_a_qdq_onnx_is_int8_ready(tmp_path):
    import onnx

    path = tmp_path / "model.onnx"
    onnx.save(_qdq_model(), str(path))
    assert recipe_from_onnx(path, "int8").graph == "qdq"
    with pytest.raises(InvalidOptionError, match="qdq graph"):
        recipe_from_onnx(path, "fp32")


def test_recipe_json_has_no_calibration_keys(tmp_path):
    write_recipe(_recipe(precision="int8", graph="qdq"), tmp_path)
    data = json.loads((tmp_path / "trt_recipe.json").read_text())
    assert data["graph"] == "qdq" and not any(k.startswith("calib") for k in data)


@pytest.mark.parametrize("shapes, match", [
    ({"image": ["N", 3, 64, 96]}, "static NCHW"),
    ({"image": [1, 3, 64]}, "static NCHW"),
    ({"image": [1, 3, 64, 96], "mask": [1, 1, 32, 32]}, "must share"),
])
def test_recipe_from_onnx_refuses_dynamic_or_mismatched_inputs(tmp_path, shapes, match):
    with pytest.raises(InvalidOptionError, match=match):
        recipe_from_onnx(_onnx(tmp_path, shapes))
