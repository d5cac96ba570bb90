"""Bundles for the verify tests, exported once per session at 64x64 from a TRAINED (non-random) checkpoint.

The checkpoint is the seeded random initialisation with every parameter (not the BatchNorm statistics) moved by
0.5 of its own standard deviation: outputs change substantially (checked in test_bundle_from_checkpoint), so a
reference computed from the random weights instead of the checkpoint's would fail verification by a wide margin.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from edgeattn.export import ExportConfig, export
from edgeattn.models import create_model
from edgeattn.verify import verify_bundle

MODEL = "lga_mobilenet"
SIZE = (64, 64)


def trained_state(seed: int = 0) -> dict[str, torch.Tensor]:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model(MODEL)
        params = {k for k, _ in model.named_parameters()}
        gen = torch.Generator().manual_seed(1234)
        out = {}
        for k, v in model.state_dict().items():
            if k in params and v.numel() > 1:
                v = v + 0.5 * v.std() * torch.randn(v.shape, generator=gen)
            out[k] = v.contiguous()
    return out


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "trained.safetensors"
    save_file(trained_state(), str(path))
    return path


@pytest.fixture(scope="session")
def ov_bundle(tmp_path_factory, checkpoint) -> Path:
    """--target openvino, checked on ORT and OpenVINO at export."""
    out = tmp_path_factory.mktemp("bundles")
    cfg = ExportConfig(model=MODEL, target="openvino", input_size=SIZE, output=out, checkpoint=checkpoint,
                       runtimes=("ort", "openvino"), threads=2)
    result = export(cfg, progress=lambda m: None, verifier=verify_bundle)
    assert result.verdict == "passed", result.parity
    return result.folder


@pytest.fixture(scope="session")
def trt_bundle(tmp_path_factory, checkpoint) -> Path:
    out = tmp_path_factory.mktemp("trt")
    cfg = ExportConfig(model=MODEL, target="trt", input_size=SIZE, output=out, checkpoint=checkpoint, parity=False)
    return export(cfg, progress=lambda m: None).folder


@pytest.fixture
def copy_of(tmp_path):
    def make(folder: Path) -> Path:
        dst = tmp_path / folder.name
        shutil.copytree(folder, dst)
        return dst
    return make


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Key pairs made here (tests/verify/_trust.py): the signer's, another ECDSA one, an RSA one, an encrypted one."""
    from ._trust import encrypted_key, key_pair

    folder = tmp_path_factory.mktemp("keys")
    return {"good": key_pair(folder, "good"), "other": key_pair(folder, "other"),
            "rsa": key_pair(folder, "rsa", kind="rsa"), "encrypted": encrypted_key(folder)}


@pytest.fixture(scope="session")
def signed(tmp_path_factory, keys):
    """A small --target onnx bundle exported with --sign-key (the "good" key), checked on ORT at export."""
    out = tmp_path_factory.mktemp("signed")
    cfg = ExportConfig(model=MODEL, input_size=SIZE, output=out, runtimes=("ort",), threads=1,
                       sign_key=keys["good"][0])
    result = export(cfg, progress=lambda m: None, verifier=verify_bundle)
    assert result.verdict == "passed"
    return result.folder
