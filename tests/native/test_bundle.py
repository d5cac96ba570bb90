"""A `--target openvino --custom-ops` bundle carries the compiled library (hashed) and runs on it: in edgeattn.verify
(only after the hash check), and in a plain Python OpenVINO program that only adds the extension file, with edgeattn
and torch unimportable. A changed library is refused before it is loaded; an ARM64 bundle carries the ARM64 build."""

import json
import subprocess
import sys
import textwrap

import pytest

from edgeattn.bundle.extensions import verified_library
from edgeattn.errors import IntegrityError
from edgeattn.export import ExportConfig, export
from edgeattn.verify import verify_bundle
from edgeattn.verify.__main__ import main as verify_main

pytestmark = pytest.mark.native
LIB = "extensions/openvino/libedgeattn_openvino.so"
ELF_MACHINE = {"x86_64": 0x3E, "aarch64": 0xB7}

MODELS = {  # small sizes: the kernels' equivalence is tests/native/test_kernels.py's job
    "ccnet_mobilenet": dict(input_size=(32, 48)),
    "psal_inpaint": dict(input_size=(40, 36), model_kwargs={"n_iters": 2}),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def bundle(request, tmp_path_factory):
    cfg = ExportConfig(model=request.param, target="openvino", custom_ops=True, threads=2, runtimes=("openvino",),
                       output=tmp_path_factory.mktemp("native"), **MODELS[request.param])
    result = export(cfg, progress=lambda _: None, verifier=verify_bundle)
    assert result.verdict == "passed", result.parity
    return result.folder


def _machine(path) -> int:
    return int.from_bytes(path.read_bytes()[18:20], "little")


def test_bundle_ships_the_hashed_library_and_an_ir_of_its_ops(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    entry = manifest["extensions"]["openvino"]
    assert entry["file"] == LIB and LIB in manifest["files"] and entry["arch"] == "x86_64"
    assert _machine(bundle / LIB) == ELF_MACHINE["x86_64"]
    assert 'version="edgeattn"' in (bundle / "model.xml").read_text()
    assert LIB in manifest["notes"][0] and "add_extension" in manifest["notes"][0]


PLAIN = textwrap.dedent("""
    import sys
    for name in ("edgeattn", "torch", "onnx"):  # not importable: the program needs OpenVINO and numpy only
        sys.modules[name] = None
    import json, pathlib
    import numpy as np
    import openvino as ov
    folder = pathlib.Path(sys.argv[1])
    core = ov.Core()
    core.add_extension(str(folder / "extensions/openvino/libedgeattn_openvino.so"))
    manifest = json.loads((folder / "manifest.json").read_text())
    worst = 0.0
    for artefact in ("model.xml", "model.onnx"):
        model = core.read_model(str(folder / artefact))
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        for case in manifest["reference"]["cases"]:
            feeds = dict(np.load(folder / case["inputs"]))
            want = np.load(folder / case["outputs"])[manifest["outputs"][0]["name"]]
            worst = max(worst, float(np.abs(compiled(feeds)[0] - want).max()))
    print(worst)
""")


def test_a_plain_openvino_program_runs_the_bundle_without_edgeattn(bundle):
    run = subprocess.run([sys.executable, "-c", PLAIN, str(bundle)], capture_output=True, text=True, timeout=300,
                         cwd=bundle)
    assert run.returncode == 0, run.stderr[-2000:]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert float(run.stdout) <= manifest["parity"][0]["tolerance"]  # the bar verify applied to this bundle


def test_a_changed_library_is_refused_before_it_is_loaded(bundle, tmp_path, capsys):
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    lib = copy / LIB
    data = bytearray(lib.read_bytes())
    data[len(data) // 2] ^= 0xFF
    lib.write_bytes(bytes(data))
    manifest = json.loads((copy / "manifest.json").read_text())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(IntegrityError, match="it was not loaded"):
        verified_library(copy, manifest, "openvino", scratch=scratch)
    assert list(scratch.iterdir()) == []  # no loadable copy was ever written
    with pytest.raises(IntegrityError, match="libedgeattn_openvino.so changed"):
        verify_bundle(copy, runtimes=["openvino"])
    assert verify_main([str(copy), "--runtimes", "openvino"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "libedgeattn_openvino.so" in err[0] and "Traceback" not in err[0]


def test_a_library_missing_from_the_hashed_files_is_refused(bundle, tmp_path):
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["files"][LIB]
    with pytest.raises(IntegrityError, match="not hashed"):
        verified_library(bundle, manifest, "openvino", scratch=tmp_path)


@pytest.mark.native_arm64
def test_an_arm64_bundle_carries_the_arm64_library_and_is_not_verified_on_x86(tmp_path):
    cfg = ExportConfig(model="ccnet_mobilenet", target="openvino", custom_ops=True, device="jetson-orin-jp6", threads=2,
                       runtimes=("openvino",), input_size=(32, 48), output=tmp_path)
    result = export(cfg, progress=lambda _: None, verifier=verify_bundle)
    entry = result.manifest["extensions"]["openvino"]
    assert entry["arch"] == "aarch64" and _machine(result.folder / LIB) == ELF_MACHINE["aarch64"]
    assert result.verdict == "not_verified"
    assert "aarch64" in result.parity[0].reason and "emulate" in result.parity[0].reason
