"""The engine build's host-side half: hashes checked before any file is used (plugins before dlopen), the
device_files record, and the one-line errors without TensorRT. The build itself needs TensorRT + a GPU."""

import json

import pytest

from edgeattn.errors import IntegrityError, InvalidOptionError, MissingDependencyError
from edgeattn.runtimes import runtime_class
from edgeattn.tensorrt import build

from ._bundle import make_bundle, sha256

NO_TRT = not runtime_class("tensorrt").available()[0]


@pytest.mark.parametrize("victim", ["trt_recipe.json", "model.onnx", "libedgeattn_plugins.so"])
def test_one_changed_byte_stops_the_build_before_tensorrt_or_dlopen(tmp_path, victim, capsys):
    bundle = make_bundle(tmp_path / "b", plugins={"libedgeattn_plugins.so": b"\x7fELF not really a library"})
    path = bundle / victim
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match=f"{victim} differs from the SHA-256"):
        build.build_engine(bundle)
    assert build.main([str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.tensorrt.build: error:") and victim in err and err.count("\n") == 1


def test_unlisted_or_missing_files_are_refused(tmp_path):
    bundle = make_bundle(tmp_path / "b", plugins={"libp.so": b"lib"})
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["files"]["libp.so"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="libp.so is not listed in manifest.json"):
        build.build_engine(bundle)
    (bundle / "model.onnx").unlink()
    with pytest.raises(IntegrityError, match="model.onnx is missing"):
        build.verify_bundle_files(bundle, ["model.onnx"])
    with pytest.raises(IntegrityError, match="not a bundle"):
        build.build_engine(tmp_path / "nowhere")
    (bundle / "manifest.json").write_text("{")
    with pytest.raises(IntegrityError, match="not readable JSON"):
        build.build_engine(bundle)


@pytest.mark.skipif(not NO_TRT, reason="TensorRT is present: the device tests cover the build")
def test_intact_bundle_reaches_tensorrt_and_says_how_to_get_it(tmp_path, capsys):
    bundle = make_bundle(tmp_path / "b", plugins={"libp.so": b"lib"})
    with pytest.raises(MissingDependencyError, match="JetPack 6.1 ships TensorRT 10.3, JetPack 7.2 10.16"):
        build.build_engine(bundle)
    assert build.main([str(bundle)]) == 2
    assert "device_files" not in json.loads((bundle / "manifest.json").read_text())  # nothing recorded


def test_recipe_errors_come_before_tensorrt(tmp_path):
    bundle = make_bundle(tmp_path / "b")
    with pytest.raises(InvalidOptionError, match="DLA has no FP32"):
        build.build_plan(bundle / "model.onnx", build.TrtRecipe(input_names=("image",), channels=(3,), batch=1,
                                                                size=(16, 16), dla_core=0), bundle)


def test_device_files_record_engine_with_its_source_and_version(tmp_path):
    bundle = make_bundle(tmp_path / "b")
    engine = bundle / "model.engine"
    engine.write_bytes(b"plan")
    before = json.loads((bundle / "manifest.json").read_text())
    build.record_device_files(bundle, [engine], sha256(bundle / "model.onnx"), "10.3.0.30")
    after = json.loads((bundle / "manifest.json").read_text())
    assert after["files"] == before["files"]  # what shipped is untouched
    assert after["device_files"] == {"model.engine": {"sha256": sha256(engine), "bytes": 4,
                                                      "built_from": sha256(bundle / "model.onnx"),
                                                      "tensorrt": "10.3.0.30"}}
