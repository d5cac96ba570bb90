"""The engine check: recorded, built from this bundle's model.onnx, inside the profile; then verify's TensorRT run."""

import json

import pytest

from edgeattn.errors import IntegrityError, InvalidOptionError
from edgeattn.tensorrt import build, check
from edgeattn.tensorrt.engine_file import write_engine
from edgeattn.tensorrt.recipe import TrtRecipe

from ._bundle import sha256


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


def _built(bundle):
    engine = write_engine(bundle / "model.engine", b"not a real plan", {"precision": "fp32", "tensorrt": "10.3.0"})
    build.record_device_files(bundle, [engine], sha256(bundle / "model.onnx"), "10.3.0")
    return bundle


def test_engine_files_pass_when_recorded_and_built_from_this_onnx(trt_bundle):
    assert check.check_engine_files(_built(trt_bundle))["tensorrt"] == "10.3.0"


def test_cli_runs_verify_after_the_engine_checks(trt_bundle, capsys):
    from edgeattn.runtimes import runtime_class

    if runtime_class("tensorrt").available()[0]:
        pytest.skip("TensorRT is present: this stand-in engine would fail to load")
    code = check.main([str(_built(trt_bundle))])
    out = capsys.readouterr()
    assert "recorded, built from this bundle's model.onnx (TensorRT 10.3.0" in out.out
    assert code == 3 and "NOT VERIFIED" in out.out  # verify ran: integrity passed, TensorRT is missing here


def _rewrite_manifest(bundle, fn):
    manifest = json.loads((bundle / "manifest.json").read_text())
    fn(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _rewrite_records(bundle, fn):  # the device's records (device_files.json), outside the signed manifest
    records = json.loads((bundle / "device_files.json").read_text())
    fn(records["device_files"])
    (bundle / "device_files.json").write_text(json.dumps(records))


@pytest.mark.parametrize("tamper, error, match", [
    (lambda b: (b / "model.engine").unlink(), InvalidOptionError, "build it on the device first"),
    (lambda b: _rewrite_records(b, lambda d: d.pop("model.engine")), IntegrityError,
     "not recorded under device_files"),
    (lambda b: (b / "model.engine").write_bytes((b / "model.engine").read_bytes() + b"x"), IntegrityError,
     "differs from the SHA-256 recorded"),
    (lambda b: _rewrite_records(b, lambda d: d["model.engine"].update(built_from="ab" * 32)),
     IntegrityError, "built from another model.onnx"),
    (lambda b: (b / "model.onnx").write_bytes(b"changed"), IntegrityError, "model.onnx changed since export"),
])
def test_engine_files_fail_with_the_reason(trt_bundle, tamper, error, match, capsys):
    bundle = _built(trt_bundle)
    tamper(bundle)
    with pytest.raises(error, match=match):
        check.check_engine_files(bundle)
    assert check.main([str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.tensorrt.check: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_reference_case_outside_the_profile_prints_the_profile_readably(trt_bundle, capsys):
    bundle = _built(trt_bundle)
    _rewrite_manifest(bundle, lambda m: m["reference"]["cases"].append({**m["reference"]["cases"][0],
                                                                        "name": "64x64", "size": [64, 64]}))
    assert check.main([str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "reference cases 64x64 lie outside the engine's profile (image 1x3x32x32)" in err
    assert "ProfileShapes" not in err and "--load-reference" not in err


def test_cli_has_no_reference_flag_any_more(capsys):
    with pytest.raises(SystemExit) as exc:
        check.main(["b", "--reference", "ref.npz"])
    assert exc.value.code == 2 and "unrecognized arguments: --reference" in capsys.readouterr().err


def test_no_verify_stops_after_the_engine_checks(trt_bundle, capsys):
    assert check.main([str(_built(trt_bundle)), "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "recorded, built from this bundle's model.onnx" in out and "NOT VERIFIED" not in out


def test_engine_built_at_export_time_is_a_shipped_file(trt_bundle):
    # where TensorRT is present at export, model.engine is written before the manifest and hashed under `files`
    from edgeattn.bundle import finalize, read_manifest

    write_engine(trt_bundle / "model.engine", b"plan", {"precision": "fp32", "tensorrt": "10.16.0"})
    finalize(trt_bundle, read_manifest(trt_bundle))
    assert check.check_engine_files(trt_bundle)["tensorrt"] == "10.16.0"
    (trt_bundle / "model.engine").write_bytes(b"changed")
    with pytest.raises(IntegrityError, match="model.engine changed since export"):
        check.check_engine_files(trt_bundle)
