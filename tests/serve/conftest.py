"""Bundles for the serve tests, exported once per session by the real export CLI at small sizes.

- `dynamic_bundle`: lga_mobilenet, target onnx, batch 2, --dynamic (batch/H/W symbolic), cases 2x64x64 and 2x48x80.
- `static_openvino_bundle`: lga_mobilenet, target openvino (model.xml+bin), static 1x64x64, no parity run.
- `perturbed_bundle`: a copy of `dynamic_bundle` whose reference outputs were moved by +0.05 and re-hashed with
  edgeattn.bundle.finalize: a well-formed bundle whose model cannot match its reference (the FAILED path).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeattn.bundle import finalize, read_manifest
from edgeattn.export.__main__ import main as export_main

MODEL = "lga_mobilenet"


def _export(out: Path, *args: str) -> Path:
    rc = export_main(["--model", MODEL, "--input-size", "64x64", "--threads", "2", "--output", str(out), *args])
    assert rc == 0, f"export failed with status {rc}"
    return out / MODEL


@pytest.fixture(scope="session")
def dynamic_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory.mktemp("dyn"), "--batch", "2", "--dynamic", "--parity-size", "48x80")


@pytest.fixture(scope="session")
def static_openvino_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory.mktemp("ov"), "--target", "openvino", "--no-parity")


@pytest.fixture(scope="session")
def perturbed_bundle(dynamic_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("perturbed") / MODEL
    shutil.copytree(dynamic_bundle, folder)
    manifest = read_manifest(folder)
    for case in manifest["reference"]["cases"]:
        path = folder / case["outputs"]
        with np.load(path) as data:
            arrays = {k: data[k] + np.float32(0.05) for k in data.files}
        np.savez(path, **arrays)
    finalize(folder, manifest)
    return folder
