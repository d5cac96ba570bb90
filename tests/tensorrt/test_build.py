"""The engine build's host-side half, on a real exported bundle: every shipped file's hash is checked before
anything is parsed or dlopened, the device_files record, and one-line errors without TensorRT. The build itself
needs TensorRT + a GPU (tests/runtimes/test_tensorrt.py, device marks)."""

import json

import pytest

from edgeattn.bundle import read_manifest
from edgeattn.errors import IntegrityError, InvalidOptionError, MissingDependencyError
from edgeattn.runtimes import runtime_class
from edgeattn.tensorrt import build
from edgeattn.tensorrt.recipe import TrtRecipe, read_recipe

from ._bundle import PLUGIN, sha256

NO_TRT = not runtime_class("tensorrt").available()[0]


def test_export_ships_the_plugin_in_the_bundle_and_the_recipe_names_it(trt_bundle):
    manifest = json.loads((trt_bundle / "manifest.json").read_text())
    assert manifest["files"][PLUGIN]["sha256"] == sha256(trt_bundle / PLUGIN)
    recipe = read_recipe(trt_bundle)
    assert recipe.plugins == (PLUGIN,) and recipe.graph == "fp32" and recipe.precision == "fp32"


@pytest.mark.parametrize("victim", ["trt_recipe.json", "model.onnx", PLUGIN, "reference/32x32/inputs.npz"])
def test_one_changed_byte_stops_the_build_before_tensorrt_or_dlopen(trt_bundle, victim, capsys):
    path = trt_bundle / victim
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match=f"{victim} changed since export"):
        build.build_engine(trt_bundle)
    assert build.main([str(trt_bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.tensorrt.build: error:") and victim in err and err.count("\n") == 1


def test_unlisted_plugin_is_never_used(trt_bundle):
    manifest = json.loads((trt_bundle / "manifest.json").read_text())
    del manifest["files"][PLUGIN]
    (trt_bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match=f"{PLUGIN} not listed in"):
        build.build_engine(trt_bundle)


def test_not_a_bundle(tmp_path):
    with pytest.raises(IntegrityError, match="not a bundle folder"):
        build.build_engine(tmp_path / "nowhere")
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(IntegrityError, match="not valid JSON"):
        build.build_engine(tmp_path)


@pytest.mark.skipif(not NO_TRT, reason="TensorRT is present: the device tests cover the build")
def test_intact_bundle_reaches_tensorrt_and_says_how_to_get_it(trt_bundle, capsys):
    with pytest.raises(MissingDependencyError, match="JetPack 6.1 ships TensorRT 10.3, JetPack 7.2 10.16"):
        build.build_engine(trt_bundle)
    assert build.main([str(trt_bundle)]) == 2
    assert "device_files" not in json.loads((trt_bundle / "manifest.json").read_text())  # nothing recorded
    assert not (trt_bundle / "device_files.json").exists()


def test_recipe_errors_come_before_tensorrt(trt_bundle):
    recipe = TrtRecipe(input_names=("image",), channels=(3,), batch=1, size=(32, 32), dla_core=0)
    with pytest.raises(InvalidOptionError, match="DLA has no FP32"):
        build.build_plan(trt_bundle / "model.onnx", recipe, trt_bundle)


def test_device_files_record_engine_with_its_source_and_version(trt_bundle):
    engine = trt_bundle / "model.engine"
    engine.write_bytes(b"plan")
    before = (trt_bundle / "manifest.json").read_bytes()
    build.record_device_files(trt_bundle, [engine], sha256(trt_bundle / "model.onnx"), "10.3.0.30")
    assert (trt_bundle / "manifest.json").read_bytes() == before  # what shipped (and a signature over it) stays
    records = json.loads((trt_bundle / "device_files.json").read_text())
    assert records["format"] == "edgeattn-device-files/1"
    expected = read_manifest(trt_bundle)["device_files"]
    assert records["device_files"] == expected == {"model.engine": {"sha256": sha256(engine), "bytes": 4,
                                                                    "built_from": sha256(trt_bundle / "model.onnx"),
                                                                    "tensorrt": "10.3.0.30"}}
    build.check_shipped_files(trt_bundle)  # a stale engine never blocks a rebuild
    engine.write_bytes(b"rebuilt by trtexec, not recorded")
    build.check_shipped_files(trt_bundle)


def test_check_only_and_record_trtexec(trt_bundle, capsys, monkeypatch):
    assert build.main([str(trt_bundle), "--check-only"]) == 0
    assert "shipped files of" in capsys.readouterr().out
    assert build.main([str(trt_bundle), "--record-trtexec"]) == 2
    err = capsys.readouterr().err
    assert "model.engine does not exist" in err and "build_engine.sh first" in err and err.count("\n") == 1
    (trt_bundle / "model.engine").write_bytes(b"bare trtexec plan")
    (trt_bundle / "timing.cache").write_bytes(b"cache")
    monkeypatch.setenv("EDGEATTN_TRT_VERSION", "10.16.0")
    assert build.main([str(trt_bundle), "--record-trtexec"]) == 0
    device = read_manifest(trt_bundle)["device_files"]
    assert set(device) == {"model.engine", "timing.cache"} and device["model.engine"]["tensorrt"] == (
        build._import_trt().__version__ if not NO_TRT else "10.16.0")
    (trt_bundle / "model.onnx").write_bytes(b"x")
    assert build.main([str(trt_bundle), "--check-only"]) == 2
