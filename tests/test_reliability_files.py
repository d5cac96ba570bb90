"""Nothing of the user's is ever lost: every path edgeattn opens or writes is tried as a symbolic link (to a file
that must survive), a dangling link, a folder, a FIFO, a hard link and someone's file; existing output folders
that edgeattn did not publish are refused and left as they were. Real CLIs, real files, a tiny real bundle."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeattn._atomic import atomic_write_text
from edgeattn.errors import InvalidOptionError
from edgeattn.export.__main__ import main as export_main
from edgeattn.train.__main__ import main as train_main
from edgeattn.verify.__main__ import main as verify_main

from .reliability_bundle import export_tiny

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
VICTIM = "precious data\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM)
    return victim


def _make(kind: str, path: Path, victim: Path) -> None:
    """Put a `kind` of thing at `path`: link (to victim), dangling, folder, fifo, hardlink (to victim), foreign."""
    if kind == "link":
        path.symlink_to(victim)
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere" / "x")
    elif kind == "folder":
        path.mkdir()
        (path / "keep.txt").write_text(VICTIM)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "hardlink":
        os.link(victim, path)
    elif kind == "foreign":
        path.write_text(VICTIM)
    else:  # pragma: no cover
        raise ValueError(kind)


def _untouched(kind: str, path: Path, victim: Path) -> None:
    assert victim.read_text() == VICTIM  # never truncated or replaced through the link
    if kind in ("link", "dangling"):
        assert path.is_symlink()
        assert not (path.parent / "nowhere").exists()
    elif kind == "folder":
        assert (path / "keep.txt").read_text() == VICTIM
    elif kind == "fifo":
        assert path.is_fifo()
    else:
        assert path.read_text() == VICTIM


def _one_line(capsys: pytest.CaptureFixture[str], tool: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    line = err.splitlines()[-1]
    assert line.startswith(f"edgeattn.{tool}: error:"), err
    return line


EXPORT = ["--model", "lga_mobilenet", "--input-size", "32x32", "--threads", "1", "--no-parity"]
KINDS = ["link", "dangling", "folder", "fifo", "hardlink", "foreign"]


@pytest.mark.parametrize("kind", KINDS)
def test_export_lock_path_is_never_followed_or_truncated(kind: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".lga_mobilenet.lock"
    _make(kind, lock, victim)
    rc = export_main([*EXPORT, "--output", str(out)])
    line = _one_line(capsys, "export")
    assert rc == 2 and "lock file" in line and ".lga_mobilenet.lock" in line, line
    _untouched(kind, lock, victim)
    assert not (out / "lga_mobilenet").exists()


@pytest.mark.parametrize("kind, needle", [
    ("notes", "is not an edgeattn bundle (no manifest.json)"),
    ("file", "is not a folder"),
    ("link", "is a symbolic link"),
    ("dangling", "is a symbolic link"),
    ("extra", "holds entries its manifest does not list: mine.txt"),
    ("failed", "lga_mobilenet.failed"),
    ("old", ".lga_mobilenet.old"),
])
def test_export_refuses_output_folders_it_did_not_publish(kind: str, needle: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "lga_mobilenet"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text(VICTIM)
    if kind == "notes":
        target.mkdir()
        (target / "notes.txt").write_text(VICTIM)
    elif kind == "file":
        target.write_text(VICTIM)
    elif kind == "link":
        target.symlink_to(elsewhere)
    elif kind == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    elif kind == "extra":  # a real bundle into which the user dropped a file of their own
        assert export_main([*EXPORT, "--output", str(out)]) == 0
        (target / "mine.txt").write_text(VICTIM)
    elif kind == "failed":
        (out / "lga_mobilenet.failed").mkdir()
        (out / "lga_mobilenet.failed" / "keep.txt").write_text(VICTIM)
    elif kind == "old":
        (out / ".lga_mobilenet.old").mkdir()
        (out / ".lga_mobilenet.old" / "keep.txt").write_text(VICTIM)
    capsys.readouterr()
    before = sorted(p.name for p in out.iterdir())
    rc = export_main([*EXPORT, "--output", str(out)])
    line = _one_line(capsys, "export")
    assert rc == 2 and needle in line, line
    assert sorted(p.name for p in out.iterdir()) == before  # nothing moved aside (no hidden .old), nothing added
    assert (elsewhere / "keep.txt").read_text() == VICTIM
    if kind in ("notes", "extra"):
        assert (target / ("notes.txt" if kind == "notes" else "mine.txt")).read_text() == VICTIM
    if kind == "file":
        assert target.read_text() == VICTIM


def test_an_empty_folder_and_a_real_bundle_are_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "lga_mobilenet").mkdir(parents=True)  # e.g. made by the user's mkdir -p: nothing to lose
    assert export_main([*EXPORT, "--output", str(out)]) == 0
    assert export_main([*EXPORT, "--output", str(out), "--seed", "1"]) == 0  # its own bundle: replaced
    assert sorted(p.name for p in out.iterdir()) == ["lga_mobilenet"]


@pytest.mark.parametrize("kind", ["link", "dangling", "folder", "fifo"])
def test_verify_json_output_is_refused_before_work(kind: str, tiny: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    victim = _victim(tmp_path)
    target = tmp_path / "result.json"
    _make(kind, target, victim)
    rc = verify_main([str(tiny), "--json", str(target), "--quiet"])
    line = _one_line(capsys, "verify")
    assert rc == 2 and "--json" in line, line
    _untouched(kind, target, victim)


def test_verify_json_regular_file_is_replaced(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    assert verify_main([str(tiny), "--json", str(target), "--quiet"]) == 0
    assert json.loads(target.read_text())["verdict"] == "passed"


@pytest.mark.parametrize("what", ["model.onnx", "manifest.json", "reference/16x16/inputs.npz"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_bundle_files_that_are_special_never_hang_or_trace(what: str, kind: str, tiny: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    bundle = tmp_path / "b"
    shutil.copytree(tiny, bundle)
    path = bundle / what
    path.unlink()
    _make(kind, path, _victim(tmp_path))
    rc = verify_main([str(bundle), "--quiet"])
    line = _one_line(capsys, "verify")
    assert rc == 2 and (Path(what).name in line or "manifest" in line), line


@pytest.mark.parametrize("kind", ["fifo", "folder", "dangling"])
def test_checkpoint_paths_that_are_not_files(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.pt"
    _make(kind, path, _victim(tmp_path))
    rc = export_main([*EXPORT, "--checkpoint", str(path), "--output", str(tmp_path / "out")])
    line = _one_line(capsys, "export")
    assert rc == 2 and "--checkpoint" in line and "not a regular file" in line, line


@pytest.mark.parametrize("kind", ["link", "dangling", "fifo", "json-name", "record-link"])
def test_train_output_refused_before_training(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _victim(tmp_path)
    target = tmp_path / "w.pt"
    if kind == "json-name":
        target = tmp_path / "w.json"
    elif kind == "record-link":
        _make("link", tmp_path / "w.json", victim)
    else:
        _make(kind, target, victim)
    rc = train_main(["--model", "lga_dehaze", "--steps", "1", "--size", "32x32", "--batch", "1", "--eval-samples",
                     "1", "--threads", "1", "--output", str(target)])
    line = _one_line(capsys, "train")
    assert rc == 2 and "--output" in line, line
    assert victim.read_text() == VICTIM


@pytest.mark.parametrize("kind", ["link", "dangling", "folder", "fifo"])
def test_atomic_writes_never_replace_special_files(kind: str, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    path = tmp_path / "report.json"
    _make(kind, path, victim)
    with pytest.raises(InvalidOptionError, match="report.json"):
        atomic_write_text(path, "{}")
    _untouched(kind, path, victim)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim.txt", "report.json"])  # no temp left


def _each_tool_refuses(cases: list[tuple[Callable[[list[str]], int], list[str], str]],
                       capsys: pytest.CaptureFixture[str]) -> None:
    for fn, argv, tool in cases:
        assert fn(argv) == 2, argv
        line = _one_line(capsys, tool)
        assert "--output file" in line and "is a symbolic link" in line, line


def test_report_folders_refuse_linked_report_files_before_measuring(tiny: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.bench.__main__ import main as bench_main
    from edgeattn.parity.__main__ import main as parity_main
    from edgeattn.tensorrt.bench import main as trt_bench_main

    victim = _victim(tmp_path)
    out = tmp_path / "reports"
    out.mkdir()
    for name in ("results.json", "report.json", "goals.json"):
        (out / name).symlink_to(victim)
    _each_tool_refuses([
        (bench_main, ["--models", "lga_mobilenet", "--runtimes", "torch", "--sizes", "32x32", "--no-sweep",
                      "--output", str(out)], "bench"),
        (bench_main, ["--goals-only", "--runtimes", "ort", "--output", str(out)], "bench"),
        (parity_main, ["--model", "lga_mobilenet", "--sizes", "32x32", "--output", str(out)], "parity"),
        (trt_bench_main, [str(tiny), "--runtime", "ort", "--output", str(out)], "tensorrt.bench"),
    ], capsys)
    assert victim.read_text() == VICTIM


@pytest.mark.parametrize("name", ["model.onnx", "manifest.json", ".hidden.so"])
def test_plugin_libraries_cannot_overwrite_bundle_files(name: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / name
    lib.write_bytes(b"\x7fELF not really")
    rc = export_main([*EXPORT, "--target", "trt", "--trt-plugin", str(lib), "--output", str(tmp_path / "out")])
    line = _one_line(capsys, "export")
    assert rc == 2 and "--trt-plugin" in line and "rename the library" in line, line


def test_paths_the_os_refuses_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # a link to itself: ELOOP wherever it is used as a folder
    for out in (tmp_path / ("a" * 300), loop / "out"):
        assert export_main([*EXPORT, "--output", str(out)]) == 2
        line = _one_line(capsys, "export")
        assert str(out)[:40] in line, line
