"""Signatures over a whole bundle with OpenSSF model-signing (the optional extra `edgeattn[sign]`), offline.

    sign_bundle(folder, "signing.pem")             # export --sign-key: before the staged bundle is published
    verify_signature(folder, manifest, "signing.pub")   # verify --trust: before anything else is judged

The signature (bundle.sig, a Sigstore bundle holding a DSSE envelope over model-signing's in-toto statement) covers
every file of the bundle, manifest.json included, by SHA-256, except the files that cannot be known at signing
time: bundle.sig itself and device_files.json, the device's own records of the files it adds later (a TensorRT
engine), and those recorded files. Verification refuses (IntegrityError, exit 2) a bundle with no signature, one
made with another key, and one whose files differ from the signed set in any way (a file added, removed or
changed). Symbolic links are refused by model-signing as well as by edgeattn. Keys: ECDSA (e.g. P-256) in PEM,
the private key unencrypted; `openssl ecparam -name prime256v1 -genkey -noout -out signing.pem` and
`openssl ec -in signing.pem -pubout -out signing.pub` make a pair (docs/trust.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._bounded import FileTooLarge, read_bounded
from ..errors import IntegrityError, InvalidOptionError, MissingDependencyError
from .hashing import sha256_file
from .layout import DEVICE_RECORDS, MANIFEST, SIGNATURE, UNSIGNED
from .manifest import check_integrity

__all__ = ["SignatureReport", "sign_bundle", "verify_signature", "check_private_key", "load_public_key",
           "key_fingerprint"]

MAX_SIGNATURE_BYTES = 16 << 20
MAX_KEY_BYTES = 1 << 20  # a PEM key is a few hundred bytes (RSA-16384: ~13 KiB)

_EXTRA = ("signing needs the optional extra 'sign' (OpenSSF model-signing): pip install 'edgeattn[sign]' "
          "(in a checkout: pip install -e '.[sign]')")


def _model_signing() -> Any:
    try:
        import OpenSSL  # noqa: F401 - model-signing imports it without declaring it
        import model_signing
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError:
        raise MissingDependencyError(_EXTRA) from None
    return model_signing


def _read_key(path: Path, what: str, flag: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise InvalidOptionError(f"{flag} {str(path)!r}: no such {what} file")
    try:
        return read_bounded(path, MAX_KEY_BYTES)
    except FileTooLarge:
        raise InvalidOptionError(f"{flag} {str(path)!r} is larger than {MAX_KEY_BYTES >> 10} KiB: not a PEM key "
                                 "file; pass the key file itself") from None
    except OSError as exc:
        raise InvalidOptionError(f"{flag} {str(path)!r}: cannot read it ({exc.strerror})") from None


def check_private_key(path: Path, flag: str = "--sign-key") -> None:
    """Refuse, before any long work, a file that is not an unencrypted elliptic-curve private key in PEM."""
    _model_signing()
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read_key(path, "private key", flag)
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidOptionError(f"{flag} {str(path)!r} is encrypted: give an unencrypted PEM key (keep it safe "
                                 "by file permissions or a secret store)") from None
    except (ValueError, Exception):  # noqa: BLE001 - cryptography raises several types for garbage input
        raise InvalidOptionError(f"{flag} {str(path)!r} is not a PEM private key (make one with: openssl ecparam "
                                 "-name prime256v1 -genkey -noout -out signing.pem)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidOptionError(f"{flag} {str(path)!r} is a {type(key).__name__}; model-signing signs with "
                                 "elliptic-curve keys (ECDSA P-256, P-384 or P-521)")


def load_public_key(path: Path, flag: str = "--trust") -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read_key(path, "public key", flag)
    try:
        key = load_pem_public_key(data)
    except (ValueError, Exception):  # noqa: BLE001
        raise InvalidOptionError(f"{flag} {str(path)!r} is not a PEM public key (make it from the signing key "
                                 "with: openssl ec -in signing.pem -pubout -out signing.pub)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidOptionError(f"{flag} {str(path)!r} is a {type(key).__name__}; bundles are signed with "
                                 "elliptic-curve keys")
    return key


def key_fingerprint(key: Any) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, as hex (what model-signing puts in the signature's hint)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _hashing(ms: Any, ignore: list[str]) -> Any:
    return ms.hashing.Config().set_ignored_paths(paths=sorted(ignore), ignore_git_paths=False)


def sign_bundle(folder: Path, private_key: Path, manifest: dict) -> Path:
    """Sign `folder` (staged: every file is in manifest.json's `files`, checked first); writes bundle.sig."""
    ms = _model_signing()
    folder = Path(folder)
    report = check_integrity(folder, manifest)
    if report.unlisted:
        raise IntegrityError(f"refusing to sign {folder}: {', '.join(report.unlisted)} not in {MANIFEST}")
    config = ms.signing.Config().use_elliptic_key_signer(private_key=Path(private_key))
    config.set_hashing_config(_hashing(ms, list(UNSIGNED))).sign(folder, folder / SIGNATURE)
    return folder / SIGNATURE


def _mismatch(text: str) -> str:
    """model-signing's difference list, as `changed: a; added: b; removed: c`."""
    changed = re.findall(r"Hash mismatch for \\?'([^'\\]+)", text)  # repr may escape the quotes
    added = re.findall(r"Extra files found in model '[^']*': ([^\]\"]+)", text)
    removed = re.findall(r"Missing files in model '[^']*': ([^\]\"]+)", text)
    parts = [f"{what}: {', '.join(names)[:200]}" for what, names in
             (("changed", changed), ("added", added), ("removed", removed)) if names]
    return "; ".join(parts) or text[:200]


@dataclass
class SignatureReport:
    """What --trust established: who signed, how many files, and what no signature covers (device records)."""

    key: str  # fingerprint of the trusted public key
    signed: int  # files covered, manifest.json included
    unsigned: dict[str, str] = field(default_factory=dict)  # path -> sha256 of device files and their records

    def to_dict(self) -> dict:
        return {"authenticated": True, "key_sha256": self.key, "signed_files": self.signed,
                "unsigned_device_files": self.unsigned}


def verify_signature(folder: Path, manifest: dict, public_key: Path) -> SignatureReport:
    """Check bundle.sig against `public_key` and every file of `folder`; IntegrityError (exit 2, one line) else."""
    folder = Path(folder)
    key = load_public_key(public_key)
    ms = _model_signing()
    sig = folder / SIGNATURE
    if sig.is_symlink() or not sig.is_file():
        raise IntegrityError(f"bundle {str(folder)!r} is not signed (no regular {SIGNATURE}): --trust accepts only "
                             "bundles exported with --sign-key by the holder of the trusted key")
    try:  # read once, bounded: model-signing reads this private copy, and the statement is parsed from these bytes
        sig_bytes = read_bounded(sig, MAX_SIGNATURE_BYTES)  # one digest per file: a real one is kilobytes
    except FileTooLarge:
        raise IntegrityError(f"{sig} holds more than {MAX_SIGNATURE_BYTES >> 20} MiB, far more than a signature of a "
                             "bundle; do not use this bundle (re-copy or re-sign it)") from None
    device = sorted(manifest.get("device_files") or {})
    config = ms.verifying.Config().use_elliptic_key_verifier(public_key=Path(public_key))
    config.set_hashing_config(_hashing(ms, [*UNSIGNED, *device]))
    try:
        with tempfile.TemporaryDirectory(prefix="edgeattn-sig-") as private:  # mkdtemp: mode 0700
            copy = Path(private) / SIGNATURE
            copy.write_bytes(sig_bytes)
            config.verify(folder, copy)
    except Exception as exc:  # noqa: BLE001 - a corrupt bundle.sig surfaces as JSON, protobuf or crypto errors
        text = " ".join(str(exc).split())
        if text.startswith("Key mismatch"):
            why = f"it was signed with another key than {str(public_key)!r}"
        elif text.startswith("Signature mismatch"):
            why = "the files differ from the signed set (" + _mismatch(text) + ")"
        else:
            why = f"{SIGNATURE} is not a valid signature by that key ({type(exc).__name__}: {text[:160]})"
        raise IntegrityError(f"bundle {str(folder)!r} failed the signature check: {why}; do not use it "
                             "(re-copy the bundle as it was signed, or re-export and re-sign it)") from None
    _check_judged_manifest_is_the_signed_one(folder, manifest, sig_bytes)
    unsigned = {rel: sha256_file(folder / rel) for rel in [DEVICE_RECORDS, *device] if (folder / rel).is_file()}
    signed = len(manifest["files"]) + 1
    return SignatureReport(key=key_fingerprint(key), signed=signed, unsigned=unsigned)


def _signed_digests(sig_bytes: bytes) -> dict[str, str]:
    """{file: sha256} of the in-toto statement inside bundle.sig (model-signing 1.x: a Sigstore bundle whose DSSE
    payload lists `predicate.resources` [{name, algorithm, digest}]); only called after the signature verified."""
    try:
        envelope = json.loads(sig_bytes)["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
        return {str(r["name"]): str(r["digest"]) for r in statement["predicate"]["resources"]
                if r.get("algorithm") == "sha256"}
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise IntegrityError(f"{SIGNATURE} verified but its signed statement could not be read ({type(exc).__name__}); "
                             "this model-signing format is not one edgeattn knows: re-sign with edgeattn") from None


def _check_judged_manifest_is_the_signed_one(folder: Path, manifest: dict, sig_bytes: bytes) -> None:
    """What verify judges with is the manifest it read before the signature check; model-signing hashed the one on
    disk during it. Bind the two: manifest.json is read once more, its digest must be the signed one, and its
    content the manifest already read (device records, merged from device_files.json, aside); every file's hash
    in it must be the signed digest. A manifest swapped around the check is an integrity failure."""
    from .schema import MAX_JSON_BYTES, loads_json

    signed = _signed_digests(sig_bytes)
    try:
        data = read_bounded(folder / MANIFEST, MAX_JSON_BYTES)
    except (FileTooLarge, OSError):
        data = b""
    changed = IntegrityError(f"bundle {str(folder)!r} failed the signature check: {MANIFEST} changed while the "
                             "bundle was being checked; do not use it (re-copy the bundle as it was signed)")
    if hashlib.sha256(data).hexdigest() != signed.get(MANIFEST):
        raise changed
    on_disk = loads_json(data, "bundle manifest", str(folder / MANIFEST))

    def own(m: dict) -> dict:
        return {k: v for k, v in m.items() if k != "device_files"}

    if not isinstance(on_disk, dict) or own(on_disk) != own(manifest):
        raise changed
    wrong = [rel for rel, rec in manifest["files"].items() if signed.get(rel) != rec.get("sha256")]
    if wrong:
        raise IntegrityError(f"bundle {str(folder)!r} failed the signature check: {MANIFEST} records {wrong[0]!r} with "
                             "another hash than the signed one; do not use it")
