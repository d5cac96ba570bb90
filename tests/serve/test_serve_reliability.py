"""serve export / serve check as an attacker and a careless user would use them: versions and unknown files left
alone, foreign model folders refused, lock paths and --json never followed, NaN references and absurd dims refused,
malformed URLs one line. A tiny real bundle (tests/reliability_bundle.py); real ONNX, real config parsing."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgeattn.bundle import finalize, read_manifest
from edgeattn.errors import IntegrityError
from edgeattn.serve.__main__ import main
from edgeattn.serve.pbtxt import check_config

from ..reliability_bundle import export_tiny

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KEEP = "someone's file\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def _export(bundle: Path, out: Path, *extra: str) -> int:
    try:
        return main(["export", str(bundle), "--output", str(out), "--model-name", "tiny", *extra])
    except SystemExit as exc:  # argparse's refusals (already one line, status 2)
        return int(exc.code)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.startswith("edgeattn.serve: error:") and "\n" not in err, err
    return err


@pytest.mark.parametrize("server, base", [("triton", ""), ("ovms", "models")])
def test_a_version_is_written_beside_the_others(server: str, base: str, tiny: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert _export(tiny, repo, "--server", server) == 0
    model = repo / base / "tiny"
    (model / "README.txt").write_text(KEEP)  # unknown files of the user's
    (model / "7").mkdir()
    (model / "7" / "model.onnx").write_text("version 7, someone else's")
    assert _export(tiny, repo, "--server", server, "--version", "3") == 0
    assert (model / "1" / "model.onnx").read_bytes() == (tiny / "model.onnx").read_bytes()
    assert (model / "3" / "model.onnx").read_bytes() == (tiny / "model.onnx").read_bytes()
    assert (model / "7" / "model.onnx").read_text() == "version 7, someone else's"
    assert (model / "README.txt").read_text() == KEEP
    assert not [p for p in model.iterdir() if p.name.startswith(".")]  # no staging, lock or .old left
    if server == "triton":
        check_config((model / "config.pbtxt").read_text())
    # re-exporting version 3 replaces it (edgeattn's own), still leaving the rest
    assert _export(tiny, repo, "--server", server, "--version", "3") == 0
    assert (model / "README.txt").read_text() == KEEP and (model / "7").is_dir()


@pytest.mark.parametrize("case, needle", [
    ("foreign-model", "not a Triton model folder edgeattn wrote (no config.pbtxt written by edgeattn)"),
    ("foreign-config", "its config.pbtxt was not written by edgeattn"),
    ("model-link", "is a symbolic link"),
    ("model-file", "is not a folder"),
    ("version-foreign", "holds files edgeattn does not write into a version folder: weights.txt"),
    ("config-link", "no config.pbtxt written by edgeattn"),
    ("lock-folder", "lock file"),
    ("lock-link", "lock file"),
])
def test_triton_repository_of_someone_else_is_refused(case: str, needle: str, tiny: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    model = repo / "tiny"
    victim = tmp_path / "victim.txt"
    victim.write_text(KEEP)
    if case in ("version-foreign", "config-link"):
        assert _export(tiny, repo, "--server", "triton") == 0
    repo.mkdir(exist_ok=True)
    if case == "foreign-model":
        model.mkdir()
        (model / "model.onnx").write_text(KEEP)
    elif case == "foreign-config":
        model.mkdir()
        (model / "config.pbtxt").write_text('name: "tiny"\nbackend: "onnxruntime"\n')
    elif case == "model-link":
        model.symlink_to(tmp_path)
    elif case == "model-file":
        model.write_text(KEEP)
    elif case == "version-foreign":
        (model / "1" / "weights.txt").write_text(KEEP)
    elif case == "config-link":
        (model / "config.pbtxt").unlink()
        (model / "config.pbtxt").symlink_to(victim)
        (model / "2").mkdir()
    elif case == "lock-folder":
        (repo / ".tiny.lock").mkdir()
    elif case == "lock-link":
        (repo / ".tiny.lock").symlink_to(victim)
    capsys.readouterr()
    snapshot = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert _export(tiny, repo, "--server", "triton", "--version", "1") == 2
    assert needle in _one_line(capsys)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == snapshot  # nothing added or moved
    assert victim.read_text() == KEEP


def _forged(tiny: Path, tmp_path: Path, change) -> Path:  # noqa: ANN001 - callable(folder, manifest)
    bundle = tmp_path / "forged"
    shutil.copytree(tiny, bundle)
    manifest = read_manifest(bundle)
    change(bundle, manifest)
    try:
        finalize(bundle, manifest)  # re-hashed: the integrity check passes, the content must not
    except IntegrityError:  # the writer's own schema check refuses it: written by hand, as an attacker would
        (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


def _nan_reference(folder: Path, manifest: dict) -> None:
    path = folder / manifest["reference"]["cases"][0]["outputs"]
    with np.load(path) as data:
        arrays = {k: data[k].copy() for k in data.files}
    next(iter(arrays.values()))[0, 0, 0, 0] = np.nan
    np.savez(path, **arrays)


def _huge_dims(folder: Path, manifest: dict) -> None:
    manifest["inputs"][0]["shape"] = [1, 3, 10**6, 10**6]  # within the schema's per-dim bound


def _huge_dynamic(folder: Path, manifest: dict) -> None:
    manifest["inputs"][0]["dynamic"]["height"] = [1, 10**6]


def _huge_npz(folder: Path, manifest: dict) -> None:
    """A small file whose .npy header declares a 4 GiB array (the data is 4 MiB of it)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (1, 3, 16, 22369622)})
    path = folder / manifest["reference"]["cases"][0]["inputs"]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("image.npy", header.getvalue() + bytes(4 << 20))


@pytest.mark.parametrize("change, needle", [
    (_nan_reference, "NaN"),
    (_huge_dims, "declares"),  # caught by the reference shapes it contradicts, or by the dims bound
    (_huge_dynamic, "declares dims"),
    (_huge_npz, "declares shape (1, 3, 16, 22369622)"),
])
def test_bundles_that_cannot_be_served_honestly_are_refused(change, needle: str, tiny: Path, tmp_path: Path,  # noqa: ANN001
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _forged(tiny, tmp_path, change)
    assert _export(bundle, tmp_path / "repo", "--server", "triton") == 2
    assert needle in _one_line(capsys)
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize("flag, value", [("--threads", "100000"), ("--instances", "100000"), ("--version", "0"),
                                         ("--version", str(2**40)), ("--streams", "0"), ("--queue-delay-us", "-1"),
                                         ("--max-batch-size", "-3")])
def test_every_count_is_bounded(flag: str, value: str, tiny: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(tiny, tmp_path / "repo", "--server", "triton", flag, value) == 2
    assert flag in _one_line(capsys)
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]", "[::1]:99999", "host:-1", "ftp://h:1",
                                 "http://user:pw@h:1", "h:1/v2/models", "h:1?x=1", "a b:1", "", ":8000", "h:0x50",
                                 "https://h:443", "h:80:90", "bad/host:1"])
def test_malformed_urls_are_one_line(url: str, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", url, str(tiny)]) == 2
    line = _one_line(capsys)
    assert "URL" in line or "TLS is not supported" in line, line


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_check_json_is_never_followed(kind: str, tiny: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(KEEP)
    target = tmp_path / "out.json"
    {"link": lambda: target.symlink_to(victim), "fifo": lambda: os.mkfifo(target), "folder": target.mkdir}[kind]()
    assert main(["check", "127.0.0.1:9", str(tiny), "--json", str(target)]) == 2
    assert "--json" in _one_line(capsys)
    assert victim.read_text() == KEEP


def test_ovms_config_json_link_is_refused(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text(json.dumps({"model_config_list": []}))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config.json").symlink_to(victim)
    assert _export(tiny, repo, "--server", "ovms") == 2
    assert "config.json" in _one_line(capsys)
    assert json.loads(victim.read_text()) == {"model_config_list": []} and not (repo / "models").exists()


def test_the_bundle_itself_is_never_taken_for_a_model_folder(tiny: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--output next to the bundle with the bundle's own name: the bundle is refused as a model folder, intact."""
    bundle = tmp_path / "tiny"
    shutil.copytree(tiny, bundle)
    before = sorted((p.relative_to(bundle).as_posix(), p.stat().st_size) for p in bundle.rglob("*"))
    assert _export(bundle, tmp_path, "--server", "triton") == 2
    assert "not a Triton model folder edgeattn wrote" in _one_line(capsys)
    assert sorted((p.relative_to(bundle).as_posix(), p.stat().st_size) for p in bundle.rglob("*")) == before


@pytest.mark.parametrize("flag, value", [("--model-version", "../../v2/repository/index"), ("--model-version", "1x"),
                                         ("--model-name", "a/../../b"), ("--model-name", "")])
def test_check_names_that_would_leave_the_model_url_are_refused(flag: str, value: str, tiny: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "127.0.0.1:9", str(tiny), flag, value]) == 2
    assert flag in _one_line(capsys)


@pytest.mark.parametrize("field, value", [("shape", "1x3x16x16"), ("shape", [1, 3, "a", 16]), ("dynamic", [1, 2]),
                                          ("dtype", 7)])
def test_wrongly_typed_input_fields_are_one_line(field: str, value: object, tiny: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def change(folder: Path, manifest: dict) -> None:
        manifest["inputs"][0][field] = value

    bundle = _forged(tiny, tmp_path, change)
    assert _export(bundle, tmp_path / "repo", "--server", "triton") == 2
    _one_line(capsys)
    assert not (tmp_path / "repo").exists()
