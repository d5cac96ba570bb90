"""Every size a user or a file can set is bounded before work starts: threads (every CLI), reference .npz files
(headers checked against the manifest before any array is loaded), manifest.json's size, the memory estimate
(each attention module's own growth), and allocation failures as one line. Real CLIs, a tiny real bundle."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgeattn._resources import HEADROOM, available_memory, estimate_bytes
from edgeattn.bundle import finalize, read_manifest
from edgeattn.cli import check_threads, max_threads, run_cli
from edgeattn.errors import IntegrityError, InvalidOptionError

from .reliability_bundle import cli_status as _status
from .reliability_bundle import export_tiny
from .reliability_bundle import one_cli_line as _one_line

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def _clis(tiny: Path, out: Path) -> list[tuple[str, Callable[[list[str]], int], list[str]]]:
    from edgeattn.bench.__main__ import main as bench
    from edgeattn.bench.patchmatch import main as patchmatch
    from edgeattn.export.__main__ import main as export
    from edgeattn.parity.__main__ import main as parity
    from edgeattn.serve.__main__ import main as serve
    from edgeattn.tensorrt.bench import main as trt_bench
    from edgeattn.train.__main__ import main as train
    from edgeattn.verify.__main__ import main as verify

    return [("export", export, ["--model", "lga_mobilenet", "--input-size", "32x32", "--output", str(out)]),
            ("verify", verify, [str(tiny)]),
            ("parity", parity, ["--model", "lga_mobilenet", "--sizes", "32x32", "--output", str(out)]),
            ("bench", bench, ["--models", "lga_mobilenet", "--sizes", "32x32", "--output", str(out)]),
            ("bench goals", bench, ["--goals-only", "--output", str(out)]),
            ("bench.patchmatch", patchmatch, []),
            ("train", train, ["--model", "lga_dehaze", "--steps", "1", "--output", str(out / "w.pt")]),
            ("tensorrt.bench", trt_bench, [str(tiny), "--runtime", "ort"]),
            ("serve export", serve, ["export", str(tiny), "--server", "triton", "--output", str(out)])]


@pytest.mark.parametrize("value", ["100000", "5000", "-1", "0", "lots"])
def test_threads_are_bounded_for_every_cli(value: str, tiny: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    for name, fn, argv in _clis(tiny, out):
        if name == "serve export" and value == "0":
            continue  # 0 = the server runtime's own default there
        rc = _status(fn, [*argv, "--threads", value])
        line = _one_line(capsys)
        assert rc == 2 and "--threads" in line, (name, line)
        assert not out.exists(), name  # refused before any work


def test_thread_limit_is_a_multiple_of_the_cpus() -> None:
    assert check_threads(max_threads()) == max_threads()
    assert check_threads(1) == 1 and check_threads(None) is None
    with pytest.raises(InvalidOptionError, match=f"pass 1..{max_threads()}"):
        check_threads(max_threads() + 1)
    from edgeattn.export import ExportConfig, export
    from edgeattn.verify import verify_bundle

    with pytest.raises(InvalidOptionError, match="--threads"):  # the library entry points too
        export(ExportConfig(model="lga_mobilenet", input_size=(32, 32), threads=10**5))
    with pytest.raises(InvalidOptionError, match="--threads"):
        verify_bundle("nowhere", threads=10**5)


def _forge(tiny: Path, tmp_path: Path, change: Callable[[Path, dict], None]) -> Path:
    bundle = tmp_path / "forged"
    shutil.copytree(tiny, bundle)
    manifest = read_manifest(bundle)
    change(bundle, manifest)
    try:
        finalize(bundle, manifest)  # re-hashed: integrity passes; the bounds must catch it
    except IntegrityError:  # the writer's own schema check refuses it: written by hand, as an attacker would
        (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


def _npy(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


def _inputs(folder: Path, manifest: dict) -> Path:
    return folder / manifest["reference"]["cases"][0]["inputs"]


def _declares_4gib(folder: Path, manifest: dict) -> None:
    with zipfile.ZipFile(_inputs(folder, manifest), "w") as z:  # 4 MiB stored, the header says 4 GiB
        z.writestr("image.npy", _npy((1, 3, 16, 22369622)) + bytes(4 << 20))


def _deflated_4gib_header(folder: Path, manifest: dict) -> None:
    with zipfile.ZipFile(_inputs(folder, manifest), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("image.npy", _npy((1 << 30,)) + bytes(1 << 20))


def _larger_than_declared(folder: Path, manifest: dict) -> None:
    np.savez(_inputs(folder, manifest), image=np.zeros((1, 3, 16, 32), np.float32))


def _many_members(folder: Path, manifest: dict) -> None:
    np.savez(_inputs(folder, manifest), **{f"a{i}": np.zeros(1, np.float32) for i in range(100)})


def _object_dtype(folder: Path, manifest: dict) -> None:
    with zipfile.ZipFile(_inputs(folder, manifest), "w") as z:
        z.writestr("image.npy", _npy((1,), "|O") + b"\x80\x04N.")


def _not_npy(folder: Path, manifest: dict) -> None:
    with zipfile.ZipFile(_inputs(folder, manifest), "w") as z:
        z.writestr("image.txt", b"hello")


def _huge_case(folder: Path, manifest: dict) -> None:
    manifest["reference"]["cases"][0]["size"] = [1000, 1000]  # within the schema, not the npz


@pytest.mark.parametrize("change, needle", [
    (_declares_4gib, "declares shape (1, 3, 16, 22369622) float32 (4.0 GiB), but the file stores 4.0 MiB"),
    (_deflated_4gib_header, "declares shape (1073741824,)"),
    (_larger_than_declared, "the manifest declares (1, 3, 16, 16) for input 'image'"),
    (_many_members, "more than the 64"),
    (_object_dtype, "object dtype"),
    (_not_npy, "which is not an .npy array"),
    (_huge_case, "does not match its batch 1 and size [1000, 1000]"),
])
def test_reference_npz_headers_are_checked_before_loading(change: Callable[[Path, dict], None], needle: str,
                                                          tiny: Path, tmp_path: Path) -> None:
    """Run verify in a child that reports its own peak memory: the refusal must come without allocating."""
    bundle = _forge(tiny, tmp_path, change)
    # VmHWM, the peak RSS of this process's own memory: ru_maxrss would carry pytest's peak over the fork and exec
    code = ("import re, sys\nfrom edgeattn.verify.__main__ import main\n"
            f"rc = main([{str(bundle)!r}, '--quiet'])\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\nsys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err and needle in err.splitlines()[-1], err
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    assert peak_kib < 1 << 20, f"verify held {peak_kib} KiB before refusing"  # < 1 GiB: nothing was allocated


def test_an_oversized_manifest_is_refused_unread(tiny: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.verify.__main__ import main as verify

    bundle = tmp_path / "b"
    shutil.copytree(tiny, bundle)
    text = (bundle / "manifest.json").read_text()
    (bundle / "manifest.json").write_text(text[:-2] + " " * (17 << 20) + text[-2:])
    assert json.loads((bundle / "manifest.json").read_text())  # still valid JSON, just huge
    assert verify([str(bundle)]) == 2
    assert "larger than any bundle manifest edgeattn writes (16 MiB)" in _one_line(capsys)


def test_memory_estimate_grows_with_the_attention_module() -> None:
    nonlocal_ = [estimate_bytes(1, h, 2 * h, 3, "nonlocal") for h in (512, 1024)]
    lga = [estimate_bytes(1, h, 2 * h, 3, "lga") for h in (512, 1024)]
    assert nonlocal_[1] >= 16 << 30  # two (128*256)^2 fp64 maps at 1024x2048
    assert 15 < nonlocal_[1] / nonlocal_[0] < 17  # quadratic in the pixel count
    assert 3.5 < lga[1] / lga[0] < 4.5 and lga[1] < 1 << 30  # linear
    assert estimate_bytes(1, 1024, 2048, 3, "criss_cross") < nonlocal_[1] / 10


@pytest.mark.parametrize("tool", ["export", "parity", "bench"])
def test_nonlocal_at_a_huge_size_is_refused_up_front(tool: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.bench.__main__ import main as bench
    from edgeattn.export.__main__ import main as export
    from edgeattn.parity.__main__ import main as parity

    fn, argv = {"export": (export, ["--model", "nonlocal_mobilenet", "--input-size", "2048x4096"]),
                "parity": (parity, ["--model", "nonlocal_mobilenet", "--sizes", "2048x4096"]),
                "bench": (bench, ["--models", "nonlocal_mobilenet", "--sizes", "2048x4096", "--no-sweep"])}[tool]
    assert fn([*argv, "--output", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert "nonlocal attention maps in fp64" in line and "O((HW)^2 * C)" in line, line
    assert not (tmp_path / "out").exists()


def test_nonlocal_1024x2048_is_refused_where_the_estimate_does_not_fit(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.export.__main__ import main as export

    need = estimate_bytes(1, 1024, 2048, 3, "nonlocal")
    have = available_memory()
    if have is None or need * HEADROOM <= have:
        pytest.skip(f"this host has {have} bytes available: the 1024x2048 estimate fits")
    assert export(["--model", "nonlocal_mobilenet", "--input-size", "1024x2048", "--output", str(tmp_path)]) == 2
    assert "16.2 GiB" in _one_line(capsys)


def test_allocation_failures_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    assert run_cli("export", lambda: torch.empty(1 << 45)) == 2  # a real allocator refusal (128 TiB)
    line = _one_line(capsys)
    assert "out of memory: PyTorch could not allocate 131072.0 GiB" in line, line
    with pytest.raises(ValueError):  # anything else still surfaces (a bug must not hide as bad input)
        run_cli("export", lambda: (_ for _ in ()).throw(ValueError("a bug")))


@pytest.mark.parametrize("timeout", ["0", "nan", "inf", "-1", "1e9"])
def test_serve_check_timeout_is_bounded(timeout: str, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.serve.__main__ import main as serve

    assert serve(["check", "127.0.0.1:9", str(tiny), "--timeout", timeout]) == 2
    assert "--timeout" in _one_line(capsys)


@pytest.mark.parametrize("argv, needle", [
    (["--input-size", "200000x64"], "at most 131072 pixels"),
    (["--target", "trt", "--dynamic", "--max-size", "64x200000"], "at most 131072 pixels"),
    (["--target", "trt", "--workspace", str(10**9)], "--workspace must be in 1..262144"),
    (["--target", "trt", "--dynamic", "--max-batch", str(10**6)], "--max-batch must be at most 4096"),
    (["--target", "trt", "--precision", "fp16", "--dla-core", "99"], "--dla-core must be 0..7"),
    (["--target", "ort", "--precision", "int8", "--calib-samples", str(10**9)], "--calib-samples must be in 1..10000"),
    (["--model", "pkg.mod:factory", "--input-channels", str(10**6)], "--input-channels must be in 1..4096"),
])
def test_every_export_size_is_bounded(argv: list[str], needle: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.export.__main__ import main as export

    base = ["--model", "lga_mobilenet", "--input-size", "32x32"]
    if "--model" in argv:
        base = ["--input-size", "32x32"]
    assert _status(export, [*base, *argv, "--output", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert needle in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--no-models", "--modules", "nonlocal", "--sweep-sizes", "1024x1024"], "the nonlocal sweep at 1024x1024"),
    (["--models", "lga_mobilenet", "--sizes", "32x32", "--iters", str(10**9)], "--iters at most 100000"),
])
def test_bench_sizes_are_bounded(argv: list[str], needle: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.bench.__main__ import main as bench

    assert _status(bench, [*argv, "--output", str(tmp_path / "out")]) == 2
    assert needle in _one_line(capsys)
    assert not (tmp_path / "out").exists()
