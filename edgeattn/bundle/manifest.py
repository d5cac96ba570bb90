"""manifest.json: write, read, validate, and check every file's hash against it (docs/bundle-format.md).

`finalize(folder, manifest)` hashes every file of a staged bundle into `files` and writes the manifest last;
`read_manifest(folder)` refuses a manifest that is unreadable, of another format or missing required keys;
`check_integrity(folder, manifest)` compares every file with its recorded SHA-256 and size, lists files that are
in the folder but in neither `files` nor `device_files`, and raises IntegrityError naming the first bad file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import IntegrityError
from .hashing import hash_tree, list_tree, sha256_file
from .layout import FORMAT, MANIFEST

__all__ = ["REQUIRED_KEYS", "IntegrityReport", "finalize", "write_manifest", "read_manifest", "validate_manifest",
           "check_integrity", "input_names", "output_names"]

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
    """Hash every file of `folder` (except manifest.json and device_files) into `files`, then write the manifest."""
    device = set((manifest.get("device_files") or {}))
    manifest["files"] = {p: v for p, v in hash_tree(folder, exclude=(MANIFEST,)).items() if p not in device}
    manifest.setdefault("format", FORMAT)
    write_manifest(folder, manifest)
    return manifest


def validate_manifest(manifest: Any, where: str) -> None:
    """One IntegrityError listing what is wrong with a manifest's shape (format, keys, types)."""
    if not isinstance(manifest, dict):
        raise IntegrityError(f"{where}/{MANIFEST} is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise IntegrityError(f"{where}/{MANIFEST} has format {manifest.get('format')!r}, expected {FORMAT!r} "
                             "(re-export the bundle with this edgeattn)")
    problems = [f"missing {k!r}" for k in REQUIRED_KEYS if k not in manifest]
    problems += [f"{k!r} must be a JSON {t.__name__ if isinstance(t, type) else t[0].__name__}"
                 for k, t in REQUIRED_KEYS.items() if k in manifest and not isinstance(manifest[k], t)]
    if not problems:
        for sect in ("files", "device_files"):
            for path, rec in (manifest.get(sect) or {}).items():
                pp = PurePosixPath(path)
                if pp.is_absolute() or ".." in pp.parts or not path:
                    problems.append(f"{sect} path {path!r} leaves the bundle")
                elif not (isinstance(rec, dict) and isinstance(rec.get("sha256"), str)
                          and isinstance(rec.get("bytes"), int)):
                    problems.append(f"{sect}[{path!r}] needs sha256 (string) and bytes (integer)")
        cases = manifest["reference"].get("cases")
        if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
            problems.append("reference.cases must be a list of objects")
        else:
            for c in cases:
                miss = [k for k in ("name", "batch", "size", "inputs", "outputs") if k not in c]
                if miss:
                    problems.append(f"reference case {c.get('name', '?')!r} lacks {', '.join(miss)}")
                elif c["inputs"] not in manifest["files"] or c["outputs"] not in manifest["files"]:
                    problems.append(f"reference case {c['name']!r} names files that are not hashed in 'files'")
        for key in ("inputs", "outputs"):
            if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in manifest[key]):
                problems.append(f"{key!r} entries need a 'name'")
    if problems:
        raise IntegrityError(f"{where}/{MANIFEST} is malformed: {'; '.join(problems[:6])}")


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"{str(folder)!r} is not a bundle folder (no such directory)")
    path = folder / MANIFEST
    if not path.is_file():
        raise IntegrityError(f"{str(folder)!r} has no {MANIFEST}: not an edgeattn bundle (export one with "
                             "python -m edgeattn.export)")
    from .ownership import MAX_MANIFEST_BYTES

    if path.stat().st_size > MAX_MANIFEST_BYTES:  # read whole below: bounded first (real ones are tens of KiB)
        raise IntegrityError(f"{path} is {path.stat().st_size} bytes, more than the {MAX_MANIFEST_BYTES} a manifest "
                             "may have; not an edgeattn manifest (re-export the bundle)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc})") from None
    validate_manifest(manifest, str(folder))
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
    for rel, rec in sorted(listed.items()):
        p = folder / rel
        report.checked += 1
        if not p.is_file():
            report.missing.append(rel)
        elif p.stat().st_size != rec["bytes"] or sha256_file(p) != rec["sha256"]:
            report.changed.append(rel)
    present = list_tree(folder, exclude=(MANIFEST,)) if folder.is_dir() else []
    report.unlisted = sorted(p for p in present if p not in listed)
    if raise_on_error and not report.ok:
        parts = []
        if report.changed:
            parts.append(f"{', '.join(report.changed)} changed since export (SHA-256 differs from manifest.json)")
        if report.missing:
            parts.append(f"{', '.join(report.missing)} missing")
        raise IntegrityError(f"bundle {str(folder)!r} failed the integrity check: {'; '.join(parts)}; "
                             "re-copy or re-export the bundle")
    return report
