"""What the export CLI publishes: always a bundle with a reference; failed bundles kept apart; one writer per
folder; memory, disk and checkpoint problems refused with one line and status 2 before long work."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
import torch
from onnx import numpy_helper
from safetensors.torch import save_file

from edgeattn.bundle import read_manifest
from edgeattn.bundle.publishing import OutputLock
from edgeattn.export.__main__ import main
from edgeattn.models import create_model

BASE = ["--model", "lga_mobilenet", "--input-size", "64x64", "--threads", "2"]


def _one_line_error(capsys, code, expected):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("[", "  "))]  # drop progress lines
    assert code == 2 and len(lines) == 1 and lines[0].startswith("edgeattn.export: error:"), err
    assert expected in lines[0] and "Traceback" not in err
    return lines[0]


def test_no_parity_still_writes_the_reference(tmp_path, capsys):
    assert main([*BASE, "--no-parity", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "NOT CHECKED (--no-parity)" in out and "PASSED" not in out
    m = read_manifest(tmp_path / "lga_mobilenet")
    assert m["verdict"] == "skipped" and m["parity"] == []
    assert [c["name"] for c in m["reference"]["cases"]] == ["64x64"]
    assert "reference/64x64/outputs.npz" in m["files"] and m["weights"]["source"] == "random-init"


@pytest.mark.parametrize("args, expected", [
    (["--input-size", "100000x100000"], "needs at least"),
    (["--input-size", "131072x131072"], "needs at least"),  # the largest side a size may have
    (["--batch", "10000", "--input-size", "512x1024"], "needs at least"),
])
def test_memory_is_estimated_and_refused_up_front(args, expected, tmp_path, capsys):
    code = main(["--model", "lga_mobilenet", *args, "--output", str(tmp_path)])
    msg = _one_line_error(capsys, code, expected)
    assert "available" in msg and "GiB" in msg
    assert list(tmp_path.iterdir()) == []


def test_second_exporter_is_refused(tmp_path, capsys):
    with OutputLock(tmp_path / "lga_mobilenet"):
        code = main([*BASE, "--output", str(tmp_path)])
    _one_line_error(capsys, code, "is writing")


def test_integer_checkpoint_is_refused(tmp_path, capsys):
    state = {k: v.to(torch.int32) if v.is_floating_point() else v for k, v in create_model("lga_mobilenet")
             .state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "int.safetensors"))
    code = main([*BASE, "--checkpoint", str(tmp_path / "int.safetensors"), "--output", str(tmp_path / "out")])
    _one_line_error(capsys, code, "integer/bool tensors for floating parameters")
    assert not (tmp_path / "out").exists(), "a refused export left its output folder behind"


def test_disk_full_is_one_line_and_keeps_the_previous_bundle(tmp_path, capsys, monkeypatch):
    import edgeattn.export.pipeline as pipeline

    assert main([*BASE, "--no-parity", "--output", str(tmp_path)]) == 0
    before = (tmp_path / "lga_mobilenet" / "manifest.json").read_bytes()
    capsys.readouterr()

    def full(folder, case):  # fault injection: the disk fills while the reference is written
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "reference"))

    monkeypatch.setattr(pipeline, "write_case", full)
    code = main([*BASE, "--no-parity", "--output", str(tmp_path)])
    _one_line_error(capsys, code, "no space left on the device")
    assert (tmp_path / "lga_mobilenet" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lga_mobilenet"]


def test_failed_verdict_is_kept_apart_from_a_good_bundle(tmp_path, capsys, monkeypatch):
    import edgeattn.export.pipeline as pipeline

    assert main([*BASE, "--output", str(tmp_path)]) == 0
    good = (tmp_path / "lga_mobilenet" / "manifest.json").read_bytes()
    real = pipeline.simplify

    def broken(proto, how):  # an exporter bug: one weight of the graph differs from the model's
        proto = real(proto, how)
        init = max(proto.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.1), init.name))
        return proto

    monkeypatch.setattr(pipeline, "simplify", broken)
    assert main([*BASE, "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out.splitlines() and "lga_mobilenet.failed" in out
    assert (tmp_path / "lga_mobilenet" / "manifest.json").read_bytes() == good
    failed = json.loads((tmp_path / "lga_mobilenet.failed" / "manifest.json").read_text())
    assert failed["verdict"] == "failed" and failed["parity"][0]["status"] == "failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lga_mobilenet", "lga_mobilenet-report",
                                                          "lga_mobilenet.failed", "lga_mobilenet.failed-report"]
    assert "failed" in (tmp_path / "lga_mobilenet.failed-report" / "verify.html").read_text()  # its own report
