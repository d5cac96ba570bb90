"""The ARM64 build of the compiled kernels, run under emulation (edgeattn.emulate: qemu-user, the profile's aarch64
OpenVINO, no torch, no onnx): every kernel against the numpy reference path computed on this host, at odd,
non-square and several sizes through one IR (dynamic shapes), batch 2, masked and unmasked PatchMatch; and ARM64
custom-op bundles of ccnet_mobilenet and psal_inpaint verified inside the emulation."""

import json

import numpy as np
import pytest

from edgeattn.bundle.tolerances import tolerance_for
from edgeattn.devices import get_profile
from edgeattn.export import ExportConfig, export
from edgeattn.native import LIBRARY, build_dir
from edgeattn.ops.criss_cross import criss_cross_np
from edgeattn.ops.patchmatch import PatchMatchParams, patchmatch_attention_np

from ._graphs import core, criss_cross_model, patchmatch_model, randn

pytestmark = [pytest.mark.native, pytest.mark.native_arm64, pytest.mark.emulate, pytest.mark.slow]
ov = pytest.importorskip("openvino")
DEVICE = "jetson-orin-jp6"
TOL = tolerance_for("fp32", "openvino").max_abs

PM = {  # name: (attrs, masked, batch, Cm, C, sizes)
    "pm_agg_unmasked_p3": (dict(knn=3, patch_size=3, n_iters=2, aggregate=1, seed=2, masked=0), [(7, 9), (12, 5)]),
    "pm_plain_masked_p3": (dict(knn=3, patch_size=3, n_iters=3, aggregate=0, seed=0, masked=1), [(9, 7), (16, 13)]),
    "pm_agg_masked_p5": (dict(knn=2, patch_size=5, n_iters=2, aggregate=1, seed=7, masked=1), [(11, 9)]),
}


def _write_cases(folder) -> None:
    c, rng, cases = core(), np.random.default_rng(0), []

    def ir(name, model):  # noqa: ANN001, ANN202
        ov.save_model(c.read_model(model.SerializeToString(), b""), str(folder / f"{name}.xml"),
                      compress_to_fp16=False)
        return f"{name}.xml"

    inputs = []
    for i, (b, ck, cv, h, w) in enumerate([(2, 3, 5, 7, 9), (1, 2, 3, 11, 1), (2, 8, 16, 13, 70)]):
        feeds = {"q": randn(rng, b, ck, h, w), "k": randn(rng, b, ck, h, w), "v": randn(rng, b, cv, h, w)}
        np.savez(folder / f"cc{i}.npz", expected=criss_cross_np(**feeds), **feeds)
        inputs.append(f"cc{i}.npz")
    cases.append({"name": "criss_cross", "xml": ir("criss_cross", criss_cross_model()), "inputs": inputs})
    # ARM's default precision (f16): the plugin hands the op f16 tensors; reference on the f16-rounded inputs
    feeds = {"q": randn(rng, 2, 4, 9, 11), "k": randn(rng, 2, 4, 9, 11), "v": randn(rng, 2, 5, 9, 11)}
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    np.savez(folder / "cc_f16.npz", expected=criss_cross_np(**half), **feeds)
    cases.append({"name": "criss_cross_default_precision", "xml": "criss_cross.xml", "inputs": ["cc_f16.npz"],
                  "hint": "default"})
    for name, (attrs, sizes) in PM.items():
        attrs = {**attrs, "temperature": 4.0}
        prm = PatchMatchParams(knn=attrs["knn"], patch_size=attrs["patch_size"], n_iters=attrs["n_iters"],
                               temperature=4.0, aggregate=bool(attrs["aggregate"]), seed=attrs["seed"])
        inputs = []
        for j, (h, w) in enumerate(sizes):
            feeds = {"q": randn(rng, 2, 4, h, w), "k": randn(rng, 2, 4, h, w), "v": randn(rng, 2, 3, h, w),
                     "mask": (rng.random((2, 1, h, w)) < 0.4).astype(np.float32)}
            want = patchmatch_attention_np(feeds["q"], feeds["k"], feeds["v"], feeds["mask"], prm,
                                           bool(attrs["masked"]))
            np.savez(folder / f"{name}{j}.npz", expected=want, **feeds)
            inputs.append(f"{name}{j}.npz")
        cases.append({"name": name, "xml": ir(name, patchmatch_model(**attrs)), "inputs": inputs})
    (folder / "cases.json").write_text(json.dumps({"cases": cases}))


def test_arm64_kernels_match_the_reference_under_emulation(tmp_path):
    from edgeattn.emulate.run import run_inside

    _write_cases(tmp_path)
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
