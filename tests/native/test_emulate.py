"""The ARM64 build of the compiled kernels, run under emulation (edgeattn.emulate: qemu-user, the profile's aarch64
OpenVINO, no torch, no onnx): every kernel against the numpy reference path computed on this host, at odd,
non-square and several sizes through one IR (dynamic shapes), batch 2, masked and unmasked PatchMatch; and ARM64
custom-op bundles of ccnet_mobilenet and psal_inpaint verified inside the emulation."""

import pytest

from edgeattn.bundle.tolerances import tolerance_for
from edgeattn.devices import get_profile
from edgeattn.export import ExportConfig, export
from edgeattn.native import LIBRARY, build_dir

from ._graphs import PM, write_kernel_cases

pytestmark = [pytest.mark.native, pytest.mark.native_arm64, pytest.mark.emulate, pytest.mark.slow]
ov = pytest.importorskip("openvino")
DEVICE = "jetson-orin-jp6"
TOL = tolerance_for("fp32", "openvino").max_abs

def test_arm64_kernels_match_the_reference_under_emulation(tmp_path):
    from edgeattn.emulate.run import run_inside

    write_kernel_cases(tmp_path)
    report, _ = run_inside(get_profile(DEVICE), "edgeattn.native.kernel_check",
                           [str(tmp_path), str(build_dir() / "aarch64" / LIBRARY)], progress=lambda _: None)
    assert report["machine"] == "aarch64"
    assert len(report["rows"]) == 4 + sum(len(s) for _, s in PM.values())
    for row in report["rows"]:
        if row["case"] == "criss_cross_default_precision":  # judged by the fp16 bar of the table
            assert row["executed"] == "f16" and row["max_abs"] <= tolerance_for("fp16", "openvino").max_abs, row
            continue
        assert row["max_abs"] is not None and row["max_abs"] <= TOL, row
        assert row["executed"] == "f32", row


@pytest.mark.parametrize("model,kwargs", [("ccnet_mobilenet", dict(input_size=(32, 48))),
                                          ("psal_inpaint", dict(input_size=(40, 36), model_kwargs={"n_iters": 2}))])
def test_arm64_custom_op_bundles_pass_verify_under_emulation(tmp_path, model, kwargs):
    from edgeattn.emulate.run import emulate

    cfg = ExportConfig(model=model, target="openvino", custom_ops=True, device=DEVICE, threads=2,
                       runtimes=("openvino",), output=tmp_path, **kwargs)
    folder = export(cfg, progress=lambda _: None).folder  # verify on this x86 host: not_verified (ARM64 library)
    result = emulate(folder, get_profile(DEVICE), runtimes=["openvino"], progress=lambda _: None)
    assert result.exit_code == 0, result.report
    assert result.report["verdict"] == "passed" and result.report["machine"] == "aarch64"
    assert not result.report["torch_importable"]
