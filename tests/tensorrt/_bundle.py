"""Real bundles for the TensorRT tools' host-side tests: `python -m edgeattn.export --target trt` run once per
session (lga_mobilenet at 32x32, with a stand-in plugin library so that plugin hashing is exercised), copied per
test so that each test may tamper with its own copy."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

PLUGIN = "libedgeattn_plugins.so"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_trt_bundle(out: Path) -> Path:
    from edgeattn.export import ExportConfig, export

    plugin = out / "plugin-src" / PLUGIN
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"\x7fELF stand-in: never loaded on a host without TensorRT")
    cfg = ExportConfig(model="lga_mobilenet", target="trt", input_size=(32, 32), output=out / "bundles",
                       parity=False, trt_plugins=(str(plugin),))
    return export(cfg, progress=lambda _: None).folder


def copy_bundle(src: Path, dest: Path) -> Path:
    return Path(shutil.copytree(src, dest))
