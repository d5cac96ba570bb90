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

import hashlib
import re
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
    if sig.stat().st_size > MAX_SIGNATURE_BYTES:  # one digest per file: a real one is kilobytes
        raise IntegrityError(f"{sig} is {sig.stat().st_size} bytes, far more than a signature of a bundle; do not "
                             "use this bundle (re-copy or re-sign it)")
    device = sorted(manifest.get("device_files") or {})
    config = ms.verifying.Config().use_elliptic_key_verifier(public_key=Path(public_key))
    config.set_hashing_config(_hashing(ms, [*UNSIGNED, *device]))
    try:
        config.verify(folder, sig)
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
    unsigned = {rel: sha256_file(folder / rel) for rel in [DEVICE_RECORDS, *device] if (folder / rel).is_file()}
    signed = len(manifest["files"]) + 1
    return SignatureReport(key=key_fingerprint(key), signed=signed, unsigned=unsigned)
