"""The bundle a repository is made from: read and integrity-checked through edgeattn.bundle, never re-implemented.

Every file a repository takes from the bundle is one that manifest.json hashes (`files`, or `device_files` for the
TensorRT engine built on the device) and that matched its hash a moment ago.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..bundle import check_integrity, read_manifest, sha256_file
from ..bundle.extensions import extension_entry
from ..bundle.layout import MANIFEST, MODEL_ENGINE, MODEL_ONNX
from ..bundle.model_files import check_model_files
from ..errors import IntegrityError, InvalidOptionError

__all__ = ["BundleSource", "open_bundle"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a name a server takes as a model folder


@dataclass(frozen=True)
class BundleSource:
    folder: Path
    manifest: dict

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def served_name(self) -> str:
        """The model's default name on a server: the registered model's, or for a user model (whose manifest names
        its factory, path/to/nets.py:build) its bundle folder's (export --name, or the factory function's)."""
        return self.model if _NAME.match(self.model) else self.folder.resolve().name

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    @property
    def onnx_path(self) -> Path:
        return self.folder / MODEL_ONNX

    def hashed(self, rel: str) -> Path | None:
        """The bundle file `rel` if manifest.json hashes it; "@engine" is the device-built TensorRT engine."""
        if rel == "@engine":
            return self.folder / MODEL_ENGINE if MODEL_ENGINE in (self.manifest.get("device_files") or {}) else None
        return self.folder / rel if rel in self.manifest["files"] else None


    @property
    def extension(self) -> dict | None:
        """The manifest's entry for the shipped OpenVINO extension library (compiled custom ops), or None."""
        return extension_entry(self.folder, self.manifest, "openvino")

    def copy_hashed(self, rel: str, dst: Path) -> None:
        """Copy the hashed bundle file `rel` to `dst` and check the copy against manifest.json (a file changed
        between the integrity check and the copy is caught here)."""
        src = self.hashed(rel)
        if src is None:
            raise IntegrityError(f"{rel} is not hashed in {self.manifest_path}; re-export the bundle")
        record = (self.manifest.get("device_files") or {}).get(src.name) if rel == "@engine" else \
            self.manifest["files"][rel]
        shutil.copyfile(src, dst)
        if sha256_file(dst) != record["sha256"]:
            raise IntegrityError(f"{src} changed while it was being copied (SHA-256 differs from manifest.json); "
                                 "re-run when nothing writes to the bundle")


def open_bundle(path: str | Path) -> BundleSource:
    """Read manifest.json and check every listed file's SHA-256 (IntegrityError, exit 2, names the bad file)."""
    folder = Path(path)
    manifest = read_manifest(folder)
    check_integrity(folder, manifest)
    if MODEL_ONNX not in manifest["files"]:
        raise IntegrityError(f"bundle {str(folder)!r} lists no {MODEL_ONNX}; every bundle ships one: re-export it")
    side = check_model_files(folder, manifest, folder / MODEL_ONNX)  # unhashed external data: refused here
    if side:  # a repository takes model.onnx alone: its external data would be dropped
        raise InvalidOptionError(f"bundle {str(folder)!r}: {MODEL_ONNX} keeps tensors in {', '.join(side[:3])}, "
                                 "which a model repository would not carry; re-export the bundle with the weights "
                                 "inside model.onnx to serve it")
    if (manifest.get("options") or {}).get("custom_ops") and extension_entry(folder, manifest, "openvino") is None:
        raise InvalidOptionError(
            f"bundle {str(folder)!r} was exported with --custom-ops but ships no compiled kernels: its edgeattn-domain "
            "nodes run only on edgeattn's Python kernels, which Triton and OVMS do not load; re-export with --target "
            "openvino --custom-ops (ships the compiled OpenVINO extension) or without --custom-ops to serve it")
    return BundleSource(folder, manifest)
