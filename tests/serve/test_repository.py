"""serve export: Triton and OVMS layouts from real bundles, each config.pbtxt checked against Triton's schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeattn.bundle import read_manifest, sha256_file, write_manifest
from edgeattn.serve import RepositoryOptions, export_repository
from edgeattn.serve.__main__ import main
from edgeattn.serve.pbtxt import check_config

MODEL = "lga_mobilenet"


def _config(folder: Path):  # noqa: ANN202 - model_config_pb2.ModelConfig
    return check_config((folder / "config.pbtxt").read_text())


def _params(cfg) -> dict[str, str]:  # noqa: ANN001
    return {k: v.string_value for k, v in cfg.parameters.items()}


@pytest.mark.parametrize("backend", ["onnxruntime", "python"])
def test_triton_onnx_backends_layout(dynamic_bundle: Path, tmp_path: Path, backend: str) -> None:
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--backend", backend, "--output",
                 str(tmp_path), "--threads", "2", "--instances", "2", "--max-batch-size", "4"]) == 0
    model = tmp_path / MODEL
    files = sorted(p.relative_to(model).as_posix() for p in model.rglob("*") if p.is_file())
    expected = ["1/model.onnx", "config.pbtxt", "edgeattn-manifest.json"] + (["1/model.py"] if backend == "python"
                                                                             else [])
    assert files == sorted(expected)
    assert sha256_file(model / "1" / "model.onnx") == read_manifest(dynamic_bundle)["files"]["model.onnx"]["sha256"]
    assert (model / "edgeattn-manifest.json").read_bytes() == (dynamic_bundle / "manifest.json").read_bytes()
    cfg = _config(model)
    assert cfg.name == MODEL and cfg.backend == backend
    assert cfg.default_model_filename == ("model.py" if backend == "python" else "model.onnx")
    assert cfg.max_batch_size == 4 and cfg.HasField("dynamic_batching")
    (inp,), (out,) = cfg.input, cfg.output
    assert (inp.name, list(inp.dims)) == ("image", [3, -1, -1])  # batch axis implicit, dynamic H/W as -1
    assert (out.name, list(out.dims)) == ("logits", [19, -1, -1])
    assert inp.data_type == out.data_type == 11  # TYPE_FP32
    (group,) = cfg.instance_group
    assert group.count == 2 and group.kind == 2  # KIND_CPU
    params = _params(cfg)
    assert params["intra_op_thread_count"] == "2" and params["edgeattn.runtime"] == "ort"
    assert json.loads(params["edgeattn.manifest"]) == read_manifest(dynamic_bundle)
    assert params["edgeattn.manifest_sha256"] == sha256_file(dynamic_bundle / "manifest.json")
    assert params["edgeattn.weights_sha256"] == read_manifest(dynamic_bundle)["weights"]["sha256"]


def test_triton_fp32_openvino_bundle_defaults_to_onnxruntime_and_says_why(static_openvino_bundle: Path,
                                                                          tmp_path: Path, capsys) -> None:
    """Triton's openvino backend cannot request f32 (bf16 on CPUs like this one): the default that verifies is
    ONNX Runtime on the bundle's model.onnx, judged by its fp32/ort tolerance; the output says so in one line."""
    assert main(["export", str(static_openvino_bundle), "--server", "triton", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr()
    why = [line for line in out.out.splitlines() if line.startswith("backend ")]
    assert len(why) == 1 and "backend onnxruntime" in why[0] and "cannot request f32" in why[0], out.out
    assert "warning" not in out.err
    cfg = _config(tmp_path / MODEL)
    assert cfg.backend == "onnxruntime" and _params(cfg)["edgeattn.runtime"] == "ort"
    assert sorted(p.name for p in (tmp_path / MODEL / "1").iterdir()) == ["model.onnx"]


def test_triton_openvino_static_layout(static_openvino_bundle: Path, tmp_path: Path, capsys) -> None:
    """--backend openvino -> the shipped IR, with a one-line warning that it cannot run fp32 as verified; a static
    bundle -> max_batch_size 0, full dims."""
    assert main(["export", str(static_openvino_bundle), "--server", "triton", "--output", str(tmp_path),
                 "--backend", "openvino", "--streams", "2", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: --backend openvino") and "bf16" in err, err
    model = tmp_path / MODEL
    assert sorted(p.name for p in (model / "1").iterdir()) == ["model.bin", "model.xml"]
    cfg = _config(model)
    assert cfg.backend == "openvino" and cfg.default_model_filename == "model.xml"
    assert cfg.max_batch_size == 0 and not cfg.HasField("dynamic_batching")
    assert list(cfg.input[0].dims) == [1, 3, 64, 64] and list(cfg.output[0].dims) == [1, 19, 64, 64]
    params = _params(cfg)
    assert params["NUM_STREAMS"] == "2" and params["INFERENCE_NUM_THREADS"] == "1"
    assert params["edgeattn.runtime"] == "openvino" and "HINT_BF16" not in params  # fp32 bundle


def test_triton_tensorrt_needs_the_device_engine(dynamic_bundle: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--backend", "tensorrt", "--output",
                 str(tmp_path / "repo")]) == 2
    err = capsys.readouterr().err
    assert "tensorrt.build" in err and "--record-trtexec" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "repo").exists()


def test_triton_tensorrt_layout_with_recorded_engine(dynamic_bundle: Path, tmp_path: Path) -> None:
    """With model.engine recorded in device_files (as the device's engine build writes it), the plan is copied.

    The engine bytes here are a stand-in (no TensorRT on this machine): what is checked is the layout, the hash
    check of device_files and the config (KIND_GPU, model.plan), not the engine."""
    bundle = tmp_path / "b" / MODEL
    shutil.copytree(dynamic_bundle, bundle)
    (bundle / "model.engine").write_bytes(b"stand-in engine bytes")
    manifest = read_manifest(bundle)
    manifest["device_files"] = {"model.engine": {"sha256": sha256_file(bundle / "model.engine"),
                                                 "bytes": (bundle / "model.engine").stat().st_size,
                                                 "built_from": manifest["files"]["model.onnx"]["sha256"],
                                                 "tensorrt": "10.3.0"}}
    write_manifest(bundle, manifest)
    assert main(["export", str(bundle), "--server", "triton", "--backend", "tensorrt", "--output",
                 str(tmp_path / "repo")]) == 0
    model = tmp_path / "repo" / MODEL
    assert (model / "1" / "model.plan").read_bytes() == b"stand-in engine bytes"
    cfg = _config(model)
    assert cfg.backend == "tensorrt" and cfg.default_model_filename == "model.plan"
    assert cfg.instance_group[0].kind == 1  # KIND_GPU
    assert _params(cfg)["edgeattn.runtime"] == "tensorrt" and _params(cfg)["edgeattn.tensorrt"] == "10.3.0"
    (bundle / "model.engine").write_bytes(b"changed engine bytes!")  # same size, other hash
    assert main(["export", str(bundle), "--server", "triton", "--backend", "tensorrt", "--output",
                 str(tmp_path / "repo")]) == 2
    assert (model / "1" / "model.plan").read_bytes() == b"stand-in engine bytes"  # the old repository is intact


def test_ovms_layout_and_config(static_openvino_bundle: Path, dynamic_bundle: Path, tmp_path: Path) -> None:
    assert main(["export", str(static_openvino_bundle), "--server", "ovms", "--output", str(tmp_path),
                 "--threads", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "models" / MODEL / "1").iterdir()) == ["model.bin", "model.xml"]
    assert (tmp_path / "models" / MODEL / "edgeattn-manifest.json").is_file()
    # a second model joins config.json; the first entry stays
    assert main(["export", str(dynamic_bundle), "--server", "ovms", "--output", str(tmp_path),
                 "--model-name", "lga_dynamic"]) == 0
    assert sorted(p.name for p in (tmp_path / "models" / "lga_dynamic" / "1").iterdir()) == ["model.onnx"]
    entries = json.loads((tmp_path / "config.json").read_text())["model_config_list"]
    by_name = {e["config"]["name"]: e["config"] for e in entries}
    assert set(by_name) == {MODEL, "lga_dynamic"}
    first = by_name[MODEL]
    assert first["base_path"] == f"models/{MODEL}" and (tmp_path / first["base_path"] / "1").is_dir()
    assert first["plugin_config"] == {"NUM_STREAMS": "1", "INFERENCE_PRECISION_HINT": "f32",
                                      "INFERENCE_NUM_THREADS": "2"}


def test_bad_inputs_are_one_line_errors(dynamic_bundle: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["export", str(tmp_path / "nope"), "--server", "triton", "--output", str(tmp_path / "r")], "not a bundle"),
        (["export", str(dynamic_bundle), "--server", "triton", "--backend", "onnxruntim", "--output",
          str(tmp_path / "r")], "Did you mean: onnxruntime"),
        (["export", str(dynamic_bundle), "--server", "triton", "--backend", "openvino", "--output",
          str(tmp_path / "r")], "model.xml"),
        (["export", str(dynamic_bundle), "--server", "triton", "--instances", "0", "--output", str(tmp_path / "r")],
         "outside 1..256"),
        (["export", str(dynamic_bundle), "--server", "triton", "--model-name", "a b", "--output",
          str(tmp_path / "r")], "--model-name"),
        (["export", str(dynamic_bundle), "--server", "ovms", "--backend", "python", "--output", str(tmp_path / "r")],
         "OpenVINO Model Server runs only OpenVINO"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_max_batch_size_zero_keeps_the_batch_axis(dynamic_bundle: Path, tmp_path: Path) -> None:
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--output", str(tmp_path),
                 "--max-batch-size", "0"]) == 0
    cfg = _config(tmp_path / MODEL)
    assert cfg.max_batch_size == 0 and not cfg.HasField("dynamic_batching")
    assert list(cfg.input[0].dims) == [-1, 3, -1, -1] and list(cfg.output[0].dims) == [-1, 19, -1, -1]


def test_custom_op_bundles_are_refused(dynamic_bundle: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "b" / MODEL
    shutil.copytree(dynamic_bundle, bundle)
    manifest = read_manifest(bundle)
    manifest["options"] = {**(manifest.get("options") or {}), "custom_ops": True}
    write_manifest(bundle, manifest)
    assert main(["export", str(bundle), "--server", "ovms", "--output", str(tmp_path / "repo")]) == 2
    assert "--custom-ops" in capsys.readouterr().err
    assert not (tmp_path / "repo").exists()


def test_static_bundle_refuses_batching(static_openvino_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="batch axis is static"):
        export_repository(RepositoryOptions(bundle=static_openvino_bundle, output=tmp_path, max_batch_size=4))


def test_integrity_failure_writes_nothing(dynamic_bundle: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "b" / MODEL
    shutil.copytree(dynamic_bundle, bundle)
    data = bytearray((bundle / "model.onnx").read_bytes())
    data[-1] ^= 1
    (bundle / "model.onnx").write_bytes(bytes(data))
    assert main(["export", str(bundle), "--server", "triton", "--output", str(tmp_path / "repo")]) == 2
    err = capsys.readouterr().err
    assert "model.onnx" in err and "integrity" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "repo").exists()


def test_failure_mid_write_keeps_the_old_model(dynamic_bundle: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--output", str(tmp_path)]) == 0
    before = (tmp_path / MODEL / "config.pbtxt").read_text()
    import edgeattn.serve.triton as triton_mod

    def boom(*_a, **_k):  # noqa: ANN002, ANN003
        raise OSError(5, "simulated I/O error while copying")

    monkeypatch.setattr(triton_mod.shutil, "copyfile", boom)
    with pytest.raises(OSError, match="simulated"):
        export_repository(RepositoryOptions(bundle=dynamic_bundle, output=tmp_path, backend="python"))
    assert (tmp_path / MODEL / "config.pbtxt").read_text() == before  # still the complete onnxruntime model
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [MODEL]
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_serve_does_not_import_torch(dynamic_bundle: Path, tmp_path: Path) -> None:
    code = ("import sys\nsys.modules['torch'] = None\n"
            "from edgeattn.serve.__main__ import main\n"
            f"rc = main(['export', r'{dynamic_bundle}', '--server', 'triton', '--output', r'{tmp_path}'])\n"
            "import edgeattn.serve.check\n"
            "raise SystemExit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / MODEL / "config.pbtxt").is_file()
