"""User models (`--model file.py:factory`) get exactly the checkpoint rules of registered models, and every bad
factory is one line with exit status 2 (never a traceback, never exit 1). Tiny factories written by the test."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from edgeattn.bundle import weights_sha256
from edgeattn.export.__main__ import main
from edgeattn.models import create_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FACTORIES = textwrap.dedent('''
    import sys
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn(self.conv(x))


    class Pair(Net):
        def forward(self, x):
            y = super().forward(x)
            return y, y


    class Named(Net):
        def forward(self, x):
            return {"logits": super().forward(x)}


    class Labels(Net):
        def forward(self, x):
            return super().forward(x).argmax(1)


    class Flat(Net):
        def forward(self, x):
            return super().forward(x).sum()


    class OnGpu(Net):
        def forward(self, x):
            return super().forward(x.cuda())


    class Nothing(Net):
        def forward(self, x):
            return None


    def build():
        torch.manual_seed(0)
        return Net()

    def build_cuda():
        return Net().cuda()

    def build_two_models():
        return Net(), Net()

    def build_none():
        return None

    def build_exit():
        sys.exit(3)

    def build_keyerror():
        raise KeyError("width")

    def build_pair():
        return Pair()

    def build_dict():
        return Named()

    def build_labels():
        return Labels()

    def build_scalar():
        return Flat()

    def build_forward_cuda():
        return OnGpu()

    def build_none_out():
        return Nothing()

    def build_nan():
        net = Net()
        with torch.no_grad():
            net.conv.weight[0, 0, 0, 0] = float("nan")
        return net
''')


@pytest.fixture(scope="module")
def nets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user") / "tiny_nets.py"
    path.write_text(FACTORIES)
    return path


def _run(nets: Path, factory: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    rc = main(["--model", f"{nets}:{factory}", "--input-size", "16x16", "--target", "onnx", "--output", str(out),
               "--threads", "1", *extra])
    err = capsys.readouterr().err.strip()
    return rc, err


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert "Traceback" not in err and lines[-1].startswith("edgeattn.export: error:"), err
    return lines[-1]


def _state(nets_path: Path) -> dict[str, torch.Tensor]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_nets_for_state", nets_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v.clone() for k, v in module.build().state_dict().items()}


@pytest.mark.parametrize("factory, needle", [
    # without CUDA torch raises inside the factory; with a GPU the model arrives on cuda: both one line, exit 2
    ("build_cuda", "the factory put the model on cuda" if torch.cuda.is_available() else "the factory raised"),
    ("build_two_models", "returned a tuple of 2, expected one torch.nn.Module"),
    ("build_none", "returned NoneType"),
    ("build_exit", "the factory raised SystemExit"),
    ("build_keyerror", "the factory raised KeyError"),
    ("build_pair", "returned a tuple of 2; edgeattn exports models with one output tensor"),
    ("build_dict", "returned a dict of 1"),
    ("build_labels", "output is torch.int64"),
    ("build_scalar", "expected the batch (1) first"),
    ("build_forward_cuda", "the model's forward raised"),
    ("build_none_out", "returned NoneType, expected one tensor"),
    ("build_nan", "NaN/Inf in conv.weight"),
])
def test_bad_factories_are_one_line_exit_2(nets: Path, factory: str, needle: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run(nets, factory, tmp_path, capsys)
    line = _one_line(err)
    assert rc == 2 and needle in line, line
    assert not (tmp_path / factory).exists()  # nothing published


@pytest.mark.parametrize("kind", ["int32", "bool", "nan", "inf"])
def test_user_checkpoints_follow_the_registered_rules(kind: str, nets: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    state = _state(nets)
    if kind in ("int32", "bool"):
        state["conv.weight"] = (state["conv.weight"] > 0).to(getattr(torch, kind))
        needle = "integer/bool tensors for floating parameters: conv.weight"
    else:
        state["conv.weight"][0, 0, 0, 0] = float(kind)
        needle = "NaN/Inf values in conv.weight"
    ckpt = tmp_path / f"{kind}.safetensors"
    save_file(state, str(ckpt))
    rc, err = _run(nets, "build", tmp_path / "out", capsys, "--checkpoint", str(ckpt))
    line = _one_line(err)
    assert rc == 2 and needle in line, line
    # the registered models' loader says the same about the same defect
    reg = {k: v.clone() for k, v in create_model("lga_mobilenet").state_dict().items()}
    key = next(k for k, v in reg.items() if v.is_floating_point() and v.ndim == 4)
    reg[key] = (reg[key] > 0).to(getattr(torch, kind)) if kind in ("int32", "bool") else reg[key]
    if kind not in ("int32", "bool"):
        reg[key][(0,) * reg[key].ndim] = float(kind)
    save_file(reg, str(tmp_path / "reg.safetensors"))
    rc = main(["--model", "lga_mobilenet", "--input-size", "32x32", "--checkpoint", str(tmp_path / "reg.safetensors"),
               "--output", str(tmp_path / "reg_out"), "--threads", "1"])
    line = _one_line(capsys.readouterr().err.strip())
    assert rc == 2 and needle.split(":")[0].split(" in ")[0] in line, line


def test_fp16_checkpoint_weights_hash_is_of_the_loaded_float32_weights(nets: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """docs/bundle-format.md: the weights hash is of the weights as loaded (float32 for an fp16 file), and the
    file is identified by weights.checkpoint.sha256."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in _state(nets).items()}
    ckpt = tmp_path / "fp16.safetensors"
    save_file(state, str(ckpt))
    rc, err = _run(nets, "build", tmp_path / "out", capsys, "--checkpoint", str(ckpt))
    assert rc == 0, err
    manifest = json.loads((tmp_path / "out" / "build" / "manifest.json").read_text())
    upcast = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    assert manifest["weights"]["sha256"] == weights_sha256(upcast)
    assert manifest["weights"]["sha256"] != weights_sha256(state)
    from edgeattn.bundle import sha256_file

    assert manifest["weights"]["checkpoint"]["sha256"] == sha256_file(ckpt)
