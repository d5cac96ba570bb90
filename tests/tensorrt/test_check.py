"""The engine check: recorded, built from this bundle's model.onnx, inside the profile; then verify's TensorRT run."""

import json

import pytest

from edgeattn.errors import IntegrityError, InvalidOptionError
from edgeattn.tensorrt import build, check
from edgeattn.tensorrt.engine_file import write_engine
from edgeattn.tensorrt.recipe import TrtRecipe

from ._bundle import make_bundle, sha256


def _recipe(**kw):
    base = dict(input_names=("image",), channels=(3,), batch=1, size=(64, 64), model="lga_mobilenet")
    return TrtRecipe(**{**base, **kw})


CASES = [{"name": "64x64", "batch": 1, "size": [64, 64]}, {"name": "128x96", "batch": 1, "size": [128, 96]},
         {"name": "2x64x64", "batch": 2, "size": [64, 64]}]


def test_static_engine_takes_only_its_own_shape():
    assert check.cases_outside_profile(_recipe(), CASES) == ["128x96", "2x64x64"]


def test_dynamic_engine_takes_every_shape_inside_its_profile():
    assert check.cases_outside_profile(_recipe(dynamic=True, min_size=(32, 32), max_batch=2), CASES) == []
    narrow = _recipe(dynamic=True, min_size=(32, 32), max_size=(96, 96))
    assert check.cases_outside_profile(narrow, CASES) == ["128x96", "2x64x64"]


def _built(tmp_path, precision="fp32"):
    bundle = make_bundle(tmp_path / "b", precision=precision)
    engine = write_engine(bundle / "model.engine", b"not a real plan", {"precision": precision, "tensorrt": "10.3.0"})
    build.record_device_files(bundle, [engine], sha256(bundle / "model.onnx"), "10.3.0")
    return bundle


def test_engine_files_pass_when_recorded_and_built_from_this_onnx(tmp_path):
    assert check.check_engine_files(_built(tmp_path))["tensorrt"] == "10.3.0"


def _rewrite_manifest(bundle, fn):
    manifest = json.loads((bundle / "manifest.json").read_text())
    fn(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("tamper, error, match", [
    (lambda b: (b / "model.engine").unlink(), InvalidOptionError, "build it on the device first"),
    (lambda b: _rewrite_manifest(b, lambda m: m.pop("device_files")), IntegrityError,
     "not recorded under device_files"),
    (lambda b: (b / "model.engine").write_bytes((b / "model.engine").read_bytes() + b"x"), IntegrityError,
     "differs from the SHA-256 recorded"),
    (lambda b: _rewrite_manifest(b, lambda m: m["device_files"]["model.engine"].update(built_from="ab" * 32)),
     IntegrityError, "built from another model.onnx"),
    (lambda b: (b / "model.onnx").write_bytes(b"changed"), IntegrityError, "model.onnx differs"),
])
def test_engine_files_fail_with_the_reason(tmp_path, tamper, error, match, capsys):
    bundle = _built(tmp_path)
    tamper(bundle)
    with pytest.raises(error, match=match):
        check.check_engine_files(bundle)
    assert check.main([str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.tensorrt.check: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_reference_case_outside_the_profile_prints_the_profile_readably(tmp_path, capsys):
    bundle = _built(tmp_path)
    _rewrite_manifest(bundle, lambda m: m["reference"]["cases"].append({"name": "32x32", "batch": 1,
                                                                        "size": [32, 32]}))
    assert check.main([str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "reference cases 32x32 lie outside the engine's profile (image 1x3x16x16)" in err
    assert "ProfileShapes" not in err and "--load-reference" not in err


def test_cli_has_no_reference_flag_any_more(capsys):
    with pytest.raises(SystemExit) as exc:
        check.main(["b", "--reference", "ref.npz"])
    assert exc.value.code == 2 and "unrecognized arguments: --reference" in capsys.readouterr().err
