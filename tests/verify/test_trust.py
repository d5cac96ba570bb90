"""Signed bundles, tried as an attacker would: export --sign-key, verify --trust (real OpenSSF model-signing, keys
made here). Every way of changing a signed bundle is refused with exit 2 and one line; the device's own records
(an engine) leave the shipped signature valid and are reported as unsigned."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from edgeattn.bundle.signing import sign_bundle
from edgeattn.export.__main__ import main as export_main
from edgeattn.tensorrt.build import record_device_files
from edgeattn.verify import verify_bundle

from ._trust import forge, manifest_of, one_line_error, run_verify

MODEL = "lga_mobilenet"


@pytest.fixture
def copy(signed, tmp_path):
    dst = tmp_path / signed.name
    shutil.copytree(signed, dst, symlinks=True)
    return dst


def test_signed_bundle_is_authenticated_on_the_device_side(signed, keys):
    proc = run_verify(signed, "--trust", keys["good"][1], "--quiet")
    assert proc.returncode == 0, proc.stderr
    n = len(manifest_of(signed)["files"]) + 1
    assert f"authenticated: {n} files signed by the trusted key" in proc.stdout and "PASSED" in proc.stdout


def test_without_trust_the_report_says_not_authenticated(signed):
    proc = run_verify(signed, "--quiet")
    assert proc.returncode == 0 and "integrity-checked, not authenticated" in proc.stdout


def test_signature_covers_every_file_and_the_manifest(signed):
    assert (signed / "bundle.sig").is_file()
    assert "bundle.sig" not in manifest_of(signed)["files"]
    assert "sign_key" not in manifest_of(signed)["options"]  # the key's path does not travel


def _add(name, data=b"x"):
    def fn(b):
        (b / name).parent.mkdir(parents=True, exist_ok=True)
        (b / name).write_bytes(data)
    return fn


def _flip(rel):
    def fn(b):
        data = bytearray((b / rel).read_bytes())
        data[len(data) // 2] ^= 1
        (b / rel).write_bytes(bytes(data))
    return fn


def _forged_reference(b):  # the attack: new reference outputs, re-hashed, bar raised
    path = b / "reference/64x64/outputs.npz"
    with np.load(path) as z:
        arrays = {k: z[k] + np.float32(0.5) for k in z.files}
    np.savez(path, **arrays)
    forge(b, lambda m: m["tolerances"]["fp32/ort"].update(max_abs=1e3, mean_abs=1e3))


def _records(b, device_files):
    (b / "device_files.json").write_text(json.dumps({"format": "edgeattn-device-files/1",
                                                     "device_files": device_files}))


def _swap_signature(other_bundle):
    def fn(b):
        shutil.copyfile(other_bundle / "bundle.sig", b / "bundle.sig")
    return fn


TAMPER = {  # case: (change, what the one line must say)
    "unsigned": (lambda b: (b / "bundle.sig").unlink(), "is not signed"),
    "file-added": (_add("notes.txt"), "(added: notes.txt)"),
    "file-added-in-subfolder": (_add("reference/64x64/extra.npz"), "(added: reference/64x64/extra.npz)"),
    "git-file-added": (_add(".gitattributes", b"* -text"), "(added: .gitattributes)"),
    "file-removed": (lambda b: (b / "reference/64x64/polygraphy_inputs.json").unlink(),
                     "(removed: reference/64x64/polygraphy_inputs.json)"),
    "model-changed": (_flip("model.onnx"), "(changed: model.onnx)"),
    "manifest-rehashed": (lambda b: forge(b, lambda m: m["tolerances"]["fp32/ort"].update(max_abs=5e-5)),
                          "(changed: manifest.json)"),
    "reference-forged-and-rehashed": (_forged_reference, "(changed: manifest.json, reference/64x64/outputs.npz"),
    "manifest-appended": (lambda b: (b / "manifest.json").write_text((b / "manifest.json").read_text() + " "),
                          "(changed: manifest.json)"),
    "signature-truncated": (lambda b: (b / "bundle.sig").write_bytes((b / "bundle.sig").read_bytes()[:100]),
                            "bundle.sig is not a valid signature"),
    "signature-garbage": (_add("bundle.sig", b"\x00\xff" * 50), "bundle.sig is not a valid signature"),
    "signature-huge": (lambda b: os.truncate(b / "bundle.sig", 1 << 30), "far more than a signature"),
    "signature-is-a-link": (lambda b: ((b / "bundle.sig").rename(b.parent / "sig"),
                                       os.symlink(b.parent / "sig", b / "bundle.sig")),
                            "bundle.sig is a symbolic link"),
    "link-to-outside": (lambda b: os.symlink("/etc/hostname", b / "hostname"), "hostname is a symbolic link"),
    "model-replaced-by-link": (lambda b: ((b / "model.onnx").rename(b.parent / "m.onnx"),
                                          os.symlink(b.parent / "m.onnx", b / "model.onnx")),
                               "model.onnx is a symbolic link"),
    "folder-replaced-by-link": (lambda b: ((b / "reference").rename(b.parent / "ref"),
                                           os.symlink(b.parent / "ref", b / "reference")),
                                "reference is a symbolic link"),
    "fifo-added": (lambda b: os.mkfifo(b / "pipe"), "pipe is a FIFO"),
    "device-record-claims-a-shipped-file": (lambda b: _records(b, {"model.onnx": {"sha256": "0" * 64, "bytes": 1}}),
                                            "a device record cannot replace a shipped file"),
    "device-record-malformed": (lambda b: _records(b, {"model.engine": {"sha256": "nan", "bytes": -1}}),
                                "device_files.json is malformed"),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_any_change_after_signing_is_refused(case, copy, keys):
    change, expected = TAMPER[case]
    change(copy)
    err = one_line_error(run_verify(copy, "--trust", keys["good"][1], "--runtimes", "ort", "--quiet"))
    assert expected in err


def test_a_valid_signature_of_another_bundle_is_refused(copy, keys, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(copy, other)
    _add("extra.txt")(other)
    forge(other, lambda m: None)
    sign_bundle(other, keys["good"][0], manifest_of(other))
    _swap_signature(other)(copy)
    assert "differ from the signed set" in one_line_error(run_verify(copy, "--trust", keys["good"][1], "--quiet"))


def test_another_key_is_refused(signed, keys):
    err = one_line_error(run_verify(signed, "--trust", keys["other"][1], "--quiet"))
    assert "signed with another key" in err


def test_device_records_keep_the_shipped_signature_valid_and_are_listed_unsigned(copy, keys):
    engine = copy / "model.engine"
    engine.write_bytes(b"a device-built plan")
    record_device_files(copy, [engine], manifest_of(copy)["files"]["model.onnx"]["sha256"], "10.3.0")
    proc = run_verify(copy, "--trust", keys["good"][1], "--runtimes", "ort", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "unsigned device records: device_files.json, model.engine" in proc.stdout
    result = verify_bundle(copy, runtimes=["ort"], trust=keys["good"][1], threads=1)
    assert set(result.to_dict()["signature"]["unsigned_device_files"]) == {"device_files.json", "model.engine"}
    engine.write_bytes(b"changed after it was recorded")  # the records are still hashed
    err = one_line_error(run_verify(copy, "--trust", keys["good"][1], "--runtimes", "ort", "--quiet"))
    assert "model.engine changed since the device recorded it" in err


@pytest.mark.parametrize("key, expected", [
    ("missing", "no such public key file"), ("garbage", "is not a PEM public key"),
    ("private", "is not a PEM public key"), ("rsa", "is a RSAPublicKey"),
])
def test_bad_trust_key_is_one_line(key, expected, signed, keys, tmp_path):
    path = {"missing": tmp_path / "nope.pub", "garbage": tmp_path / "g.pub", "private": keys["good"][0],
            "rsa": keys["rsa"][1]}[key]
    if key == "garbage":
        path.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert expected in one_line_error(run_verify(signed, "--trust", path, "--quiet"))


def test_trust_without_the_sign_extra_names_it(signed, keys):
    err = one_line_error(run_verify(signed, "--trust", keys["good"][1], "--quiet", blocked="model_signing"))
    assert "pip install 'edgeattn[sign]'" in err
    assert run_verify(signed, "--quiet", blocked="model_signing").returncode == 0  # verify itself needs no extra


@pytest.mark.parametrize("key, expected", [
    ("missing", "no such private key file"), ("garbage", "is not a PEM private key"),
    ("public", "is not a PEM private key"), ("rsa", "is a RSAPrivateKey"), ("encrypted", "is encrypted"),
])
def test_bad_sign_key_is_refused_before_any_work(key, expected, keys, tmp_path, capsys):
    path = {"missing": tmp_path / "nope.pem", "garbage": tmp_path / "g.pem", "public": keys["good"][1],
            "rsa": keys["rsa"][0], "encrypted": keys["encrypted"]}[key]
    if key == "garbage":
        path.write_text("not a key")
    out = tmp_path / "out"
    code = export_main(["--model", MODEL, "--input-size", "64x64", "--output", str(out), "--sign-key", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()  # refused before the output folder was touched


@pytest.mark.parametrize("edit", ["stricter-tolerance", "file-hash"])
def test_a_manifest_swapped_around_the_signature_check_is_refused(edit, copy, keys, monkeypatch):
    """verify judges with the manifest it read before the signature check, while model-signing hashes the one on
    disk during it: a manifest.json swapped back and forth around the check (here: verify is handed a forged one,
    the genuine signed one stays on disk) used to PASS with --trust; the two are now bound, so it is exit 2."""
    from edgeattn.errors import IntegrityError

    import edgeattn.verify.bundle as vb

    real = vb.read_manifest

    def forged(folder):
        m = real(folder)
        if edit == "stricter-tolerance":
            key = next(iter(m["tolerances"]))
            m["tolerances"][key] = {**m["tolerances"][key], "max_abs": m["tolerances"][key]["max_abs"] / 2}
        else:
            rel = next(iter(m["files"]))
            m["files"][rel] = {**m["files"][rel], "sha256": "0" * 64}
        return m

    monkeypatch.setattr(vb, "read_manifest", forged)
    with pytest.raises(IntegrityError, match="manifest.json changed while the bundle was being checked"):
        verify_bundle(copy, runtimes=["ort"], trust=keys["good"][1], threads=1)
    monkeypatch.setattr(vb, "read_manifest", real)
    assert verify_bundle(copy, runtimes=["ort"], trust=keys["good"][1], threads=1).verdict == "passed"
