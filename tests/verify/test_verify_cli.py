"""python -m edgeattn.verify on bundles from a trained checkpoint: passes, and every tampering or bad input fails
with the documented status and one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgeattn.bundle import finalize, read_manifest
from edgeattn.verify.__main__ import main

# Runs python -m edgeattn.verify with torch made unimportable, and reports whether torch got imported anyway.
NO_TORCH = textwrap.dedent("""
    import runpy, sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, _Block())
    sys.argv = ["edgeattn.verify", *sys.argv[1:]]
    try:
        runpy.run_module("edgeattn.verify", run_name="__main__")
    except SystemExit as exc:
        print("torch imported:", "torch" in sys.modules)
        raise
""")


def _verify(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_trained_bundle_verifies_on_ort_and_openvino_without_torch(ov_bundle, tmp_path):
    proc = _verify(ov_bundle, "--runtimes", "ort,openvino", "--threads", "2", "--json", tmp_path / "v.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "PASSED" in lines and "torch imported: False" in lines
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["verdict"] == "passed" and doc["exit_status"] == 0 and doc["integrity"]["ok"]
    assert [(r["runtime"], r["size"], r["status"]) for r in doc["rows"]] == [("ort", "64x64", "passed"),
                                                                            ("openvino", "64x64", "passed")]


def test_default_runtime_is_the_targets_own(ov_bundle, capsys):
    assert main([str(ov_bundle), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "openvino" in out and "\nort " not in out


def _flip(path, offset=None):
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("which, name", [("ov", "model.onnx"), ("ov", "model.xml"), ("ov", "model.bin"),
                                         ("ov", "reference/64x64/outputs.npz"),
                                         ("ov", "reference/64x64/polygraphy_inputs.json"),
                                         ("trt", "trt_recipe.json"), ("trt", "build_engine.sh")])
def test_one_flipped_byte_is_exit_2_naming_the_file(which, name, ov_bundle, trt_bundle, copy_of, capsys):
    folder = copy_of(ov_bundle if which == "ov" else trt_bundle)
    _flip(folder / name)
    assert main([str(folder), "--runtimes", "ort", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("edgeattn.verify: error:") and name in err
    assert "changed since export" in err


def _rewrite_outputs(folder, fn):
    path = folder / "reference/64x64/outputs.npz"
    with np.load(path) as data:
        arrays = {k: fn(data[k]) for k in data.files}
    np.savez(path, **arrays)
    finalize(folder, read_manifest(folder))  # a consistent bundle: the hashes match the changed file


def test_nan_reference_is_refused(ov_bundle, copy_of, capsys):
    folder = copy_of(ov_bundle)

    def nan(a):
        a = a.copy()
        a.flat[::7] = np.nan
        return a

    _rewrite_outputs(folder, nan)
    assert main([str(folder), "--runtimes", "ort", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and err.count("\n") == 1


def test_shifted_reference_fails(ov_bundle, copy_of, capsys):
    """The old bug: the bar came from the reference file itself, so shifting it moved the bar too. The stored
    tolerance and floor do not move: a 1e-2 shift (100x the fp32 tolerance) fails."""
    folder = copy_of(ov_bundle)
    _rewrite_outputs(folder, lambda a: a + np.float32(1e-2))
    assert main([str(folder), "--runtimes", "ort,openvino", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out.splitlines() and "max abs error" in out


def test_unavailable_runtime_is_not_verified_exit_3(ov_bundle, trt_bundle, capsys):
    from edgeattn.runtimes import runtime_class

    if runtime_class("tensorrt").available()[0]:
        pytest.skip("TensorRT is installed here")
    assert main([str(ov_bundle), "--runtimes", "ort,tensorrt", "--quiet"]) == 3
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out.splitlines() and "UNAVAILABLE" in out
    assert main([str(trt_bundle), "--quiet"]) == 3  # the trt bundle's own runtime: its engine is not built here
    assert "NOT VERIFIED" in capsys.readouterr().out.splitlines()


def test_unlisted_file_is_reported_and_never_loaded(ov_bundle, copy_of, capsys):
    folder = copy_of(ov_bundle)
    (folder / "plugin.so").write_bytes(b"\x7fELF")
    assert main([str(folder), "--runtimes", "ort", "--quiet"]) == 0
    assert "files not in the manifest (not used): plugin.so" in capsys.readouterr().out


def _manifest_edit(folder, fn):
    path = folder / "manifest.json"
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("case, expected", [
    ("no-folder", "no such directory"),
    ("no-manifest", "not an edgeattn bundle"),
    ("bad-json", "not valid JSON"),
    ("format", "expected 'edgeattn-bundle/1'"),
    ("missing-key", "missing 'tolerances'"),
    ("wrong-type", "'files' must be a JSON object"),
    ("escape", "leaves the bundle"),
    ("zero-byte-npz", "is empty"),
    ("missing-array", "missing ['logits']"),
    ("torch", "--runtimes torch"),
    ("unknown-runtime", "unknown runtime 'onnxrt'"),
    ("threads", "--threads must be >= 1"),
    ("json-dir", "is a folder"),
    ("json-unwritable", "not writable"),
])
def test_bad_input_is_one_line_exit_2(case, expected, ov_bundle, copy_of, tmp_path, capsys):
    folder = copy_of(ov_bundle)
    extra = ["--runtimes", "ort"]
    if case == "no-folder":
        folder = tmp_path / "nope"
    elif case == "no-manifest":
        (folder / "manifest.json").unlink()
    elif case == "bad-json":
        (folder / "manifest.json").write_text("{")
    elif case == "format":
        _manifest_edit(folder, lambda d: d.update(format="edgeattn-bundle/0"))
    elif case == "missing-key":
        _manifest_edit(folder, lambda d: d.pop("tolerances"))
    elif case == "wrong-type":
        _manifest_edit(folder, lambda d: d.update(files=list(d["files"])))
    elif case == "escape":
        _manifest_edit(folder, lambda d: d["files"].update({"../x": {"sha256": "0", "bytes": 1}}))
    elif case in ("zero-byte-npz", "missing-array"):
        path = folder / "reference/64x64/outputs.npz"
        if case == "zero-byte-npz":
            path.write_bytes(b"")
        else:
            np.savez(path, other=np.zeros(3, np.float32))
        finalize(folder, read_manifest(folder))
    elif case == "torch":
        extra = ["--runtimes", "torch"]
    elif case == "unknown-runtime":
        extra = ["--runtimes", "onnxrt"]
    elif case == "threads":
        extra += ["--threads", "0"]
    elif case == "json-dir":
        extra += ["--json", str(tmp_path)]
    elif case == "json-unwritable":
        (tmp_path / "file").write_text("x")
        extra += ["--json", str(tmp_path / "file" / "v.json")]
    try:
        rc = main([str(folder), *extra, "--quiet"])
    except SystemExit as exc:  # refused by the parser (--threads): the same one line and status for a user
        rc = exc.code
    assert rc == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and expected in captured.err and "Traceback" not in captured.err
    assert captured.out == ""  # checked before any parity work


def test_api(ov_bundle):
    import edgeattn

    result = edgeattn.verify_bundle(ov_bundle, runtimes=["ort"], threads=1)
    assert result.passed and result.exit_code == 0 and result.rows[0].max_abs_err <= result.rows[0].tolerance


def test_imports_and_help_without_torch():
    code = NO_TORCH.split("sys.argv = ")[0] + textwrap.dedent("""
        import edgeattn, edgeattn.bundle, edgeattn.verify, edgeattn.runtimes
        assert callable(edgeattn.verify_bundle) and "torch" not in sys.modules
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    proc = _verify("--help")
    assert proc.returncode == 0 and "NOT VERIFIED" in proc.stdout and "torch imported: False" in proc.stdout


def test_a_folder_of_bundles_is_not_verified_in_the_users_place(ov_bundle, tmp_path, capsys):
    """verify on export's --output folder names the bundle inside it (exit 2, one line) instead of only refusing."""
    import shutil

    from edgeattn.verify.__main__ import main

    parent = tmp_path / "artifacts"
    shutil.copytree(ov_bundle, parent / ov_bundle.name)
    assert main([str(parent)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"holds one, {str(parent / ov_bundle.name)!r}" in err
    assert f"python -m edgeattn.verify {parent / ov_bundle.name}" in err
    shutil.copytree(ov_bundle, parent / "second")
    assert main([str(parent)]) == 2
    assert "holds 2:" in capsys.readouterr().err
