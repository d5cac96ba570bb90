"""A real Triton round trip on loopback: the repository `serve export --backend python` wrote, loaded by the
tritonserver binary nvidia-pytriton ships (Python backend running the bundle's model.onnx on ONNX Runtime with
dynamic batching), checked by `serve check` over HTTP and gRPC. The server runs in the separate Triton
environment as its own process group and is always stopped (fixture `finally`, SIGTERM then SIGKILL of the group).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgeattn.bundle import input_names, output_names, read_case, read_manifest
from edgeattn.serve import CheckOptions, check_server
from edgeattn.serve.__main__ import main
from edgeattn.serve.kserve import KServeClient, ServerError

from .triton_server import TritonServer, start_triton, stop_triton

pytestmark = pytest.mark.triton

MODEL = "lga_mobilenet"
PERTURBED = "lga_perturbed"
STATIC = "lga_static"
CONCURRENCY = 8


@pytest.fixture(scope="module")
def server(triton_env_python: Path, dynamic_bundle: Path, perturbed_bundle: Path, static_openvino_bundle: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = tmp_path_factory.mktemp("triton-repo")
    # A long queue delay makes the batcher merge the concurrent requests of the batching test (checked there).
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--backend", "python", "--output", str(repo),
                 "--threads", "1", "--queue-delay-us", "100000"]) == 0
    # A second version written beside the first and beside an operator's own file (serve export leaves both):
    # Triton must load that folder as it is (the default policy serves the latest version, 2).
    (repo / MODEL / "NOTES.txt").write_text("operator's notes\n")
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--backend", "python", "--output", str(repo),
                 "--threads", "1", "--queue-delay-us", "100000", "--version", "2"]) == 0
    assert main(["export", str(perturbed_bundle), "--server", "triton", "--backend", "python", "--output", str(repo),
                 "--model-name", PERTURBED, "--threads", "1"]) == 0
    assert main(["export", str(static_openvino_bundle), "--server", "triton", "--backend", "python", "--output",
                 str(repo), "--model-name", STATIC, "--threads", "1"]) == 0
    ts = start_triton(triton_env_python, repo, tmp_path_factory.mktemp("triton-run"),
                      models=(MODEL, PERTURBED, STATIC))
    try:
        yield ts
    finally:
        stop_triton(ts)
        assert ts.process.poll() is not None, "tritonserver still running after stop_triton"


def _case(bundle: Path, index: int = 0):  # noqa: ANN202
    m = read_manifest(bundle)
    return read_case(bundle, m["reference"]["cases"][index], input_names(m), output_names(m))


def test_round_trip_http(server: TritonServer, dynamic_bundle: Path) -> None:
    result = check_server(CheckOptions(url=server.http_url, bundle=dynamic_bundle))
    assert result.verdict == "passed" and result.exit_code == 0
    assert [r.size for r in result.rows] == ["2x64x64", "2x48x80"]  # every reference case, both sizes
    assert all(r.status == "passed" and r.max_abs_err is not None and r.max_abs_err <= r.tolerance
               for r in result.rows)
    assert all(r.task_metric == "argmax_agreement" for r in result.rows)


def test_version_2_beside_version_1_and_unknown_files_is_served(server: TritonServer, dynamic_bundle: Path,
                                                                tmp_path: Path) -> None:
    result = check_server(CheckOptions(url=server.http_url, bundle=dynamic_bundle, version="2"))
    assert result.verdict == "passed", [r.reason for r in result.rows]
    client = KServeClient(server.http_url, "http", 10.0)
    assert client.ready(MODEL, "2")


def test_round_trip_grpc_cli(server: TritonServer, dynamic_bundle: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "check.json"
    assert main(["check", server.grpc_url, str(dynamic_bundle), "--protocol", "grpc", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("PASSED") and "ort@grpc://" in out
    saved = json.loads(report.read_text())
    assert saved["verdict"] == "passed" and saved["exit_status"] == 0 and len(saved["rows"]) == 2


def test_static_bundle_round_trip(server: TritonServer, static_openvino_bundle: Path) -> None:
    """max_batch_size 0 (static 1x3x64x64, no batcher) is accepted by Triton and answers within tolerance."""
    result = check_server(CheckOptions(url=server.grpc_url, bundle=static_openvino_bundle, protocol="grpc",
                                       model_name=STATIC))
    assert result.verdict == "passed", [(r.size, r.reason) for r in result.rows]
    assert [r.size for r in result.rows] == ["64x64"]
    client = KServeClient(server.http_url)
    try:
        with pytest.raises(ServerError, match="unexpected shape"):  # batch 2 where the static model takes 1
            client.infer(STATIC, {"image": np.zeros((2, 3, 64, 64), np.float32)}, ["logits"])
        assert client.ready(STATIC)
    finally:
        client.close()


def _executions(client: KServeClient, model: str) -> dict[int, int]:
    stats = client.statistics(model)
    batches = stats["model_stats"][0].get("batch_stats", [])
    return {int(b["batch_size"]): int(b["compute_infer"]["count"]) for b in batches}


def test_concurrent_requests_are_batched_and_correct(server: TritonServer, dynamic_bundle: Path) -> None:
    client = KServeClient(server.http_url)
    before = _executions(client, MODEL)
    t0 = time.monotonic()
    result = check_server(CheckOptions(url=server.http_url, bundle=dynamic_bundle, concurrency=CONCURRENCY,
                                       timeout_s=60))
    elapsed = time.monotonic() - t0
    assert result.verdict == "passed", [(r.size, r.reason) for r in result.rows if not r.passed]
    assert len(result.rows) == 2 * CONCURRENCY and elapsed < 120
    after = _executions(client, MODEL)
    client.close()
    merged = {size: n - before.get(size, 0) for size, n in after.items() if size > 2 and n > before.get(size, 0)}
    # each request carries batch 2; an execution of batch > 2 means the dynamic batcher merged requests and the
    # Python backend ran them as one ONNX Runtime call whose answers were all correct (checked above)
    assert merged, f"no merged execution: batch sizes executed {after}"


def test_wrong_shape_and_dtype_are_refused_and_the_server_keeps_serving(server: TritonServer,
                                                                        dynamic_bundle: Path) -> None:
    case = _case(dynamic_bundle)
    image = case.inputs["image"]
    client = KServeClient(server.http_url, timeout_s=30)
    try:
        with pytest.raises(ServerError) as info:  # 4 channels where the model takes 3
            client.infer(MODEL, {"image": np.zeros((1, 4, 64, 64), np.float32)}, ["logits"])
        assert "shape" in str(info.value) and "image" in str(info.value)
        with pytest.raises(ServerError) as info:  # float64 where the config says TYPE_FP32
            client.infer(MODEL, {"image": image.astype(np.float64)}, ["logits"])
        assert "datatype" in str(info.value) or "FP64" in str(info.value)
        with pytest.raises(ServerError):  # an input the model does not have
            client.infer(MODEL, {"mask": image}, ["logits"])
        with pytest.raises(ServerError) as info:  # more than max_batch_size (8, the default) in one request
            client.infer(MODEL, {"image": np.zeros((9, 3, 32, 32), np.float32)}, ["logits"])
        assert "batch-size must be <= 8" in str(info.value)
        with pytest.raises(ServerError) as info:  # below the bundle's minimum size (32): refused by model.py
            client.infer(MODEL, {"image": np.zeros((1, 3, 8, 40), np.float32)}, ["logits"])
        assert "height 8" in str(info.value) and "32..any" in str(info.value)
        assert client.live() and client.ready(MODEL) and server.ready()
        got = client.infer(MODEL, {"image": image}, ["logits"])["logits"]
    finally:
        client.close()
    assert np.abs(got - case.outputs["logits"]).max() <= 1e-4


def test_wrong_answers_fail(server: TritonServer, perturbed_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bundle whose reference the served model cannot match (outputs moved by 0.05): FAILED, exit 1."""
    assert main(["check", server.http_url, str(perturbed_bundle), "--model-name", PERTURBED]) == 1
    out = capsys.readouterr().out
    assert out.strip().endswith("FAILED") and "max abs error 0.05" in out


def test_mismatched_bundle_is_refused(server: TritonServer, perturbed_bundle: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", server.http_url, str(perturbed_bundle)]) == 2  # MODEL was exported from another bundle
    err = capsys.readouterr().err
    assert "another bundle" in err and len(err.strip().splitlines()) == 1


def test_missing_model_and_no_server_are_not_verified(server: TritonServer, dynamic_bundle: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", server.http_url, str(dynamic_bundle), "--model-name", "absent"]) == 3
    assert "NOT VERIFIED" in capsys.readouterr().out
    from .triton_server import free_port

    for protocol in ("http", "grpc"):
        assert main(["check", f"127.0.0.1:{free_port()}", str(dynamic_bundle), "--protocol", protocol,
                     "--timeout", "5"]) == 3
        assert "NOT VERIFIED" in capsys.readouterr().out


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_real_triton_rejects_a_config_the_schema_rejects(triton_env_python: Path, dynamic_bundle: Path,
                                                         tmp_path: Path) -> None:
    """The cross-check of the schema test: the enum value our check refuses, Triton itself refuses to load; the
    failed start leaves no process behind."""
    repo = tmp_path / "bad-repo"
    assert main(["export", str(dynamic_bundle), "--server", "triton", "--backend", "python", "--output",
                 str(repo)]) == 0
    config = repo / MODEL / "config.pbtxt"
    config.write_text(config.read_text().replace("kind: KIND_CPU", "kind: KIND_CPUS"))
    with pytest.raises(RuntimeError, match="failed to read text proto") as info:
        start_triton(triton_env_python, repo, tmp_path / "run", timeout_s=60, models=(MODEL,))
    assert "exited with status" in str(info.value) and str(config) in str(info.value)
    assert _processes_mentioning(str(repo)) == []
