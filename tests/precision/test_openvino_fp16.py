"""--precision fp16 on OpenVINO: what executed is read back and labelled (bf16 on a CPU without fp16 units)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("openvino")


def test_fp16_on_this_cpu_is_labelled_with_what_ran(tmp_path):
    import openvino as ov

    from edgeattn.export.__main__ import main

    caps = set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    rc = main(["--model", "lga_mobilenet", "--target", "openvino", "--precision", "fp16", "--input-size", "32x64",
               "--output", str(tmp_path), "--threads", "2"])
    folder = tmp_path / "lga_mobilenet"
    if not folder.exists():
        folder = tmp_path / "lga_mobilenet.failed"
    manifest = json.loads((folder / "manifest.json").read_text())
    info = manifest["precision_report"]["openvino_executed"]
    assert info["requested"] == "fp16"
    row = manifest["parity"][0]
    assert row["precision"] == info["executed"]  # judged as what ran, with that precision's tolerance
    if "FP16" not in caps and "BF16" in caps:  # this development machine
        assert info["executed"] == "bf16" and info["substituted"]
        assert "executes bf16" in info["note"]
        assert "bf16/openvino" in manifest["tolerances"]
    assert rc == (0 if row["status"] == "passed" else 1)
