"""manifest.json: write, read, validate, and check every file's hash against it (docs/bundle-format.md).

`finalize(folder, manifest)` hashes every file of a staged bundle into `files` and writes the manifest last;
`read_manifest(folder)` refuses a manifest that is unreadable, not strict JSON, or does not match the JSON Schema
(manifest.schema.json), and merges the device's unsigned records (device_files.json) into `device_files`;
`check_integrity(folder, manifest)` refuses links and special files anywhere in the bundle, compares every listed
file with its recorded SHA-256 and size, lists files that are in the folder but in neither `files` nor
`device_files`, and raises IntegrityError naming the first bad file.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import IntegrityError
from .hashing import hash_tree, list_tree, sha256_file
from .layout import DEVICE_FORMAT, DEVICE_RECORDS, FORMAT, MANIFEST, UNSIGNED, case_name
from .schema import check_schema, load_json

__all__ = ["REQUIRED_KEYS", "IntegrityReport", "finalize", "write_manifest", "read_manifest", "validate_manifest",
           "check_integrity", "input_names", "output_names", "read_device_records", "write_device_records"]

#: keys every consumer may rely on, with the JSON type each must have
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str, "model": str, "task": str, "target": str, "precision": str, "inputs": list, "outputs": list,
    "weights": dict, "files": dict, "reference": dict, "tolerances": dict, "verdict": str,
}


def _dumps(manifest: Mapping) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_manifest(folder: Path, manifest: Mapping) -> Path:
    """Write manifest.json as is (the caller filled `files`); atomic, so a reader never sees half a manifest."""
    from .publishing import atomic_write_text

    validate_manifest(manifest, str(folder))
    return atomic_write_text(Path(folder) / MANIFEST, _dumps(manifest))


def finalize(folder: Path, manifest: dict) -> dict:
    """Hash every file of `folder` (except manifest.json, the signature, device records and device_files) into
    `files`, then write the manifest."""
    device = set((manifest.get("device_files") or {}))
    manifest["files"] = {p: v for p, v in hash_tree(folder, exclude=(MANIFEST, *UNSIGNED)).items() if p not in device}
    manifest.setdefault("format", FORMAT)
    write_manifest(folder, manifest)
    return manifest


def _leaves(path: str) -> bool:
    pp = PurePosixPath(path)
    return not path or pp.is_absolute() or ".." in pp.parts or "\\" in path or "\0" in path


def validate_manifest(manifest: Any, where: str) -> None:
    """One IntegrityError naming what is wrong with a manifest: format, then the JSON Schema (keys, types, ranges:
    docs/manifest.schema.json), then what a schema cannot say (paths inside the bundle, cases hashed, names)."""
    if not isinstance(manifest, dict):
        raise IntegrityError(f"{where}/{MANIFEST} is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise IntegrityError(f"{where}/{MANIFEST} has format {str(manifest.get('format'))[:80]!r}, expected {FORMAT!r} "
                             "(re-export the bundle with this edgeattn)")
    for sect in ("files", "device_files"):
        if isinstance(manifest.get(sect), dict):
            bad = [p for p in manifest[sect] if _leaves(p)]
            if bad:
                raise IntegrityError(f"{where}/{MANIFEST}: {sect} path {bad[0][:200]!r} leaves the bundle; "
                                     "re-export it")
    check_schema(manifest, f"{where}/{MANIFEST}")
    problems = []
    own = [p for p in (*manifest["files"], *(manifest.get("device_files") or {})) if p in (MANIFEST, *UNSIGNED)]
    problems += [f"{p!r} cannot be a hashed file of the bundle" for p in own]
    problems += [f"{p!r} is listed in both files and device_files" for p in (manifest.get("device_files") or {})
                 if p in manifest["files"]]
    for c in manifest["reference"]["cases"]:
        if c["name"] != case_name(c["batch"], *c["size"]):
            problems.append(f"reference case {c['name']!r} does not match its batch {c['batch']} and size {c['size']}")
        named = [c[k] for k in ("inputs", "outputs", "polygraphy_inputs", "polygraphy_outputs") if k in c]
        if any(p not in manifest["files"] for p in named):
            problems.append(f"reference case {c['name']!r} names files that are not hashed in 'files'")
    for key in ("inputs", "outputs"):
        names = [i["name"] for i in manifest[key]]
        if len(set(names)) != len(names):
            problems.append(f"{key!r} names a tensor twice")
    if problems:
        raise IntegrityError(f"{where}/{MANIFEST} is malformed: {'; '.join(problems[:4])}; re-export the bundle")


def _regular(path: Path, what: str) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise IntegrityError(f"{path} is {kind}: the {what} must be a regular file of the bundle (copy the bundle "
                             "with its files, not links, or re-export it)")


def read_device_records(folder: Path) -> dict:
    """device_files.json's records ({} when the file does not exist); IntegrityError when it is malformed."""
    path = Path(folder) / DEVICE_RECORDS
    _regular(path, "device record file")
    if not path.exists():
        return {}
    doc = load_json(path, "device record file")
    check_schema(doc, str(path), definition="deviceRecords")
    bad = [p for p in doc["device_files"] if _leaves(p) or p in (MANIFEST, *UNSIGNED)]
    if bad:
        raise IntegrityError(f"{path}: device file path {bad[0][:200]!r} is not a device file of the bundle")
    return doc["device_files"]


def write_device_records(folder: Path, records: Mapping) -> Path:
    """Write device_files.json atomically (never manifest.json: a signed manifest stays signed)."""
    from .publishing import atomic_write_text

    doc = {"format": DEVICE_FORMAT, "device_files": dict(records)}
    check_schema(doc, str(Path(folder) / DEVICE_RECORDS), definition="deviceRecords")
    return atomic_write_text(Path(folder) / DEVICE_RECORDS, _dumps(doc))


def read_manifest(folder: Path) -> dict:
    """manifest.json, validated, with device_files.json's records merged into `device_files`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"{str(folder)!r} is not a bundle folder (no such directory)")
    path = folder / MANIFEST
    _regular(path, MANIFEST)
    if not path.is_file():
        raise IntegrityError(f"{str(folder)!r} has no {MANIFEST}: not an edgeattn bundle (export one with "
                             "python -m edgeattn.export)")
    manifest = load_json(path, "bundle manifest")
    validate_manifest(manifest, str(folder))
    records = read_device_records(folder)
    if records:
        own = manifest.get("device_files") or {}  # bundles recorded before device_files.json existed
        clash = [p for p in records if p in manifest["files"]]
        if clash:
            raise IntegrityError(f"{folder / DEVICE_RECORDS} records {clash[0]!r}, which {MANIFEST} already lists: a "
                                 "device record cannot replace a shipped file; delete the record and rebuild")
        manifest["device_files"] = {**own, **records}
    return manifest


def input_names(manifest: Mapping) -> list[str]:
    return [i["name"] for i in manifest["inputs"]]


def output_names(manifest: Mapping) -> list[str]:
    return [o["name"] for o in manifest["outputs"]]


@dataclass
class IntegrityReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)  # hash or size differs
    missing: list[str] = field(default_factory=list)  # in the manifest, not in the folder
    unlisted: list[str] = field(default_factory=list)  # in the folder, in neither files nor device_files

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing)

    def to_dict(self) -> dict:
        return {"checked": self.checked, "changed": self.changed, "missing": self.missing, "unlisted": self.unlisted,
                "ok": self.ok}


def check_integrity(folder: Path, manifest: Mapping, *, raise_on_error: bool = True) -> IntegrityReport:
    """Compare every listed file with its SHA-256 and size; raise IntegrityError naming the bad files."""
    folder = Path(folder)
    report = IntegrityReport()
    listed = {**manifest["files"], **(manifest.get("device_files") or {})}
    # first the tree, opening nothing: a link or a FIFO anywhere is refused before any file is read
    present = set(list_tree(folder) if folder.is_dir() else [])
    for rel, rec in sorted(listed.items()):
        p = folder / rel
        report.checked += 1
        if rel not in present:
            report.missing.append(rel)
        elif p.stat().st_size != rec["bytes"] or sha256_file(p) != rec["sha256"]:
            report.changed.append(rel)
    report.unlisted = sorted(p for p in present - {MANIFEST, *UNSIGNED} if p not in listed)
    if raise_on_error and not report.ok:
        parts = []
        shipped = [p for p in report.changed if p in manifest["files"]]
        device = [p for p in report.changed if p not in manifest["files"]]
        if shipped:
            parts.append(f"{', '.join(shipped)} changed since export (SHA-256 differs from manifest.json)")
        if device:
            parts.append(f"{', '.join(device)} changed since the device recorded it (SHA-256 differs from "
                         f"{DEVICE_RECORDS}; rebuild and record it)")
        if report.missing:
            parts.append(f"{', '.join(report.missing)} missing")
        raise IntegrityError(f"bundle {str(folder)!r} failed the integrity check: {'; '.join(parts)}; "
                             "re-copy or re-export the bundle")
    return report
