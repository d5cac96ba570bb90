"""Serving a custom-op bundle: the Triton (openvino backend) and OVMS repositories carry the compiled library and
reference it as each server expects; config.pbtxt is checked against Triton's ModelConfig schema. (Neither
server's OpenVINO backend runs here: the layout and the configs are what is checked.)"""

import json

import pytest

from edgeattn.bundle import read_manifest, sha256_file
from edgeattn.export import ExportConfig, export
from edgeattn.serve.__main__ import main
from edgeattn.serve.pbtxt import check_config

pytestmark = pytest.mark.native
LIB = "libedgeattn_openvino.so"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    cfg = ExportConfig(model="ccnet_mobilenet", target="openvino", custom_ops=True, input_size=(32, 48),
                       output=tmp_path_factory.mktemp("serve"), parity=False, threads=1)
    return export(cfg, progress=lambda _: None).folder


def _library_sha(bundle):
    return read_manifest(bundle)["files"][f"extensions/openvino/{LIB}"]["sha256"]


def test_triton_openvino_repository_carries_and_names_the_library(bundle, tmp_path):
    assert main(["export", str(bundle), "--server", "triton", "--backend", "openvino", "--output",
                 str(tmp_path), "--max-batch-size", "0"]) == 0
    model = tmp_path / "ccnet_mobilenet"
    cfg = check_config((model / "config.pbtxt").read_text())  # Triton's schema
    params = {k: v.string_value for k, v in cfg.parameters.items()}
    assert params["CPU_EXTENSION_PATH"] == str((model / "1" / LIB).resolve())
    assert sha256_file(model / "1" / LIB) == _library_sha(bundle)
    assert params["edgeattn.extension_arch"] == "x86_64" and params["edgeattn.extension_openvino"]
    assert 'version="edgeattn"' in (model / "1" / "model.xml").read_text()


def test_triton_backends_without_a_kernel_are_refused_in_one_line(bundle, tmp_path, capsys):
    assert main(["export", str(bundle), "--server", "triton", "--backend", "onnxruntime", "--output",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--backend openvino" in err[0]
    assert not (tmp_path / "ccnet_mobilenet").exists()


def test_ovms_repository_carries_the_library_and_says_how_to_start(bundle, tmp_path, capsys):
    assert main(["export", str(bundle), "--server", "ovms", "--output", str(tmp_path)]) == 0
    lib = tmp_path / "models" / "ccnet_mobilenet" / "1" / LIB  # in the version it belongs to
    assert sha256_file(lib) == _library_sha(bundle)
    out = capsys.readouterr().out
    assert f"--cpu_extension {lib.resolve()}" in out
    (entry,) = json.loads((tmp_path / "config.json").read_text())["model_config_list"]
    assert entry["config"]["base_path"] == "models/ccnet_mobilenet"
    assert sorted(p.name for p in (tmp_path / "models" / "ccnet_mobilenet" / "1").iterdir()) == [
        LIB, "model.bin", "model.xml"]
