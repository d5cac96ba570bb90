"""Helpers for the trust tests: key pairs made here (ECDSA P-256, `cryptography`), small exports, the verify CLI
run with torch made unimportable, and forging a manifest the way someone who can edit the bundle would."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edgeattn.bundle import finalize

# python -m edgeattn.verify with torch, torchvision and onnx made unimportable (the device side); `blocked` extends
# the list (e.g. model_signing, to show the missing extra's message)
DEVICE = textwrap.dedent("""
    import runpy, sys
    blocked = ("torch", "onnx", *[b for b in sys.argv[1].split(",") if b])
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in blocked:
                raise ImportError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, _Block())
    sys.argv = ["edgeattn.verify", *sys.argv[2:]]
    runpy.run_module("edgeattn.verify", run_name="__main__")
""")


def run_verify(*args, blocked: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DEVICE, blocked, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, status: int = 2) -> str:
    """The single stderr line of a refused run (asserts the status, one line, no traceback)."""
    assert proc.returncode == status, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def key_pair(folder: Path, name: str, kind: str = "ec") -> tuple[Path, Path]:
    if kind == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def encrypted_key(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = folder / "encrypted.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"secret")))
    return path


def manifest_of(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def write_raw(bundle: Path, manifest: dict) -> None:
    """Write a manifest as an editor would (allow_nan: NaN/Infinity go in as the tokens Python writes)."""
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1))


def forge(bundle: Path, edit) -> None:  # noqa: ANN001 - edit(manifest) mutates it
    """Edit the manifest and re-hash every file into it: what anyone who can write the bundle can do."""
    manifest = manifest_of(bundle)
    edit(manifest)
    finalize(bundle, manifest)
