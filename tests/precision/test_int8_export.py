"""python -m edgeattn.export --precision int8: bundles that verify and meet the task bound; a bad quantization
refused by the bound (exit 1, kept apart)."""

from __future__ import annotations

import json

import pytest

from edgeattn.export.__main__ import main

SMALL = ["--input-size", "64x64", "--threads", "2", "--calib-samples", "4", "--eval-samples", "6"]


def _export(tmp_path, weight_flags, *extra: str) -> int:
    return main(["--model", "lga_mobilenet", *weight_flags, "--output", str(tmp_path), *SMALL, *extra])


@pytest.mark.slow
def test_int8_ort_bundle_verifies_and_meets_the_bound(tmp_path, weights):
    from edgeattn.verify import verify_bundle

    rc = _export(tmp_path, weights("lga_mobilenet"), "--target", "ort", "--precision", "int8")
    folder = tmp_path / "lga_mobilenet"
    assert rc == 0 and folder.is_dir() and not (tmp_path / "lga_mobilenet.failed").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    report = manifest["precision_report"]
    assert report["accuracy"]["passed"] and report["accuracy"]["metric"] == "mIoU"
    assert report["calibration"]["method"] in ("minmax", "entropy", "percentile")
    assert set(report["calibration"]["chosen_from"]) == {"minmax", "entropy", "percentile"}
    assert [r["block"] for r in report["sensitivity"]][-1] == "rest"  # the table is in the manifest
    assert report["keep_float"]["mode"] == "auto" and report["keep_float"]["nodes"]
    import onnx

    ops = {n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Sigmoid", "Div"} <= ops  # Q/DQ graph, gates kept in float
    result = verify_bundle(folder, runtimes=["ort"])  # what the user's `python -m edgeattn.verify` runs
    assert result.verdict == "passed" and result.rows[0].precision == "int8"


@pytest.mark.slow
def test_int8_openvino_bundle_verifies_and_meets_the_bound(tmp_path, weights):
    pytest.importorskip("nncf")
    from edgeattn.verify import verify_bundle

    # 8 calibration images (the default): with the 4 of SMALL, NNCF's ranges at 64x64 (8x8 feature maps) left the
    # bundle at argmax agreement 0.655 on its reference image (bar 0.75, FAILED) although the held-out mIoU held;
    # with 8 it is 0.870 (measured on the shipped weights; README "Precision").
    rc = _export(tmp_path, weights("lga_mobilenet"), "--target", "openvino", "--precision", "int8",
                 "--calibration", "minmax", "--calib-samples", "8")
    folder = tmp_path / "lga_mobilenet"
    assert rc == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["precision_report"]["accuracy"]["passed"]
    assert manifest["precision_report"]["calibration"]["method"] == "nncf"
    assert "FakeQuantize" in (folder / "model.xml").read_text()
    result = verify_bundle(folder, runtimes=["openvino"])
    assert result.verdict == "passed" and result.rows[0].precision == "int8"


@pytest.mark.slow
def test_quantization_over_the_bound_is_refused(tmp_path, weights):
    """Everything quantized (softmax included) with per-tensor weights in the dense-attention baseline: refused.

    Measured with the shipped weights (64x64, 4 calibration and 6 held-out scenes, minmax): this costs
    nonlocal_mobilenet +0.0066 mIoU (lga_mobilenet +0.0080), inside the default bound of 0.02, so the default bound
    does not refuse it (README 'Precision'). The refusal is exercised with a user bound below that measured,
    deterministic drop (seeded data, fixed calibration).
    """
    flags = weights("nonlocal_mobilenet", pretrained_only=True)
    (tmp_path / "nonlocal_mobilenet").mkdir()
    (tmp_path / "nonlocal_mobilenet" / "keep.txt").write_text("a good bundle")  # must survive the refusal
    # ... and be recognisably a bundle edgeattn published (a foreign folder would be refused before any work)
    (tmp_path / "nonlocal_mobilenet" / "manifest.json").write_text(json.dumps(
        {"format": "edgeattn-bundle/1", "files": {"keep.txt": {"sha256": "", "bytes": 13}}}))
    rc = main(["--model", "nonlocal_mobilenet", *flags, "--output", str(tmp_path), "--input-size", "64x64",
               "--threads", "2", "--calib-samples", "4", "--eval-samples", "6", "--target", "ort",
               "--precision", "int8", "--keep-float", "none", "--int8-weights", "per-tensor",
               "--calibration", "minmax", "--max-drop", "0.002"])
    assert rc == 1
    assert (tmp_path / "nonlocal_mobilenet" / "keep.txt").read_text() == "a good bundle"
    kept = tmp_path / "nonlocal_mobilenet.failed"
    manifest = json.loads((kept / "manifest.json").read_text())
    acc = manifest["precision_report"]["accuracy"]
    assert not acc["passed"] and acc["drop"] > acc["max_drop"] == 0.002 and manifest["verdict"] == "failed"
    assert "over the bound" in manifest["refused"]
    assert manifest["precision_report"]["keep_float"]["mode"] == "none"


def test_int8_flags_are_never_silently_ignored(tmp_path, capsys):
    rc = main(["--model", "lga_mobilenet", "--target", "ort", "--keep-float", "none", "--output", str(tmp_path)])
    assert rc == 2 and "--keep-float" in capsys.readouterr().err
    rc = main(["--model", "lga_mobilenet", "--target", "ort", "--precision", "fp16", "--output", str(tmp_path)])
    assert rc == 2
