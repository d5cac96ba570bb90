"""python -m edgeattn.export with user factories: convert, export, verify; mmseg-style checkpoints; bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from edgeattn.convert import read_user_state_dict
from edgeattn.export.__main__ import main

from . import nets

NETS = str(Path(nets.__file__))  # loaded by file path, as a user would
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class MessageHub:
    """Stands for mmengine's MessageHub inside an mmseg checkpoint (mmengine is not installed here)."""

    def __init__(self) -> None:
        self.log_scalars = {"loss": [0.5, 0.4]}


def _mmseg_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    model = nets.build_mmseg_isa()
    g = torch.Generator().manual_seed(3)
    state = {k: (v + 0.05 * torch.randn(v.shape, generator=g)) if v.is_floating_point() and "running_var" not in k
             else v for k, v in model.state_dict().items()}
    aux = {"auxiliary_head.conv_seg.weight": torch.randn(5, 16, 1, 1)}
    fake = types.ModuleType("mmengine.logging.message_hub")
    MessageHub.__module__, MessageHub.__qualname__ = fake.__name__, "MessageHub"
    fake.MessageHub = MessageHub
    for name in ("mmengine", "mmengine.logging", "mmengine.logging.message_hub"):
        sys.modules[name] = fake
    try:
        torch.save({"meta": {"mmseg_version": "1.2.2", "dataset_meta": {"classes": ("a", "b")}, "epoch": 3},
                    "state_dict": {**state, **aux}, "message_hub": MessageHub(),
                    "optimizer": {"state": {}, "param_groups": [{"lr": 0.01}]}}, path)
    finally:
        for name in ("mmengine", "mmengine.logging", "mmengine.logging.message_hub"):
            sys.modules.pop(name)
    return state


def test_mmseg_checkpoint_reads_without_mmengine(tmp_path: Path) -> None:
    state = _mmseg_checkpoint(tmp_path / "isa.pth")
    read, notes = read_user_state_dict(tmp_path / "isa.pth")
    assert "mmengine" not in sys.modules
    assert set(read) == set(state) | {"auxiliary_head.conv_seg.weight"}
    assert all(torch.equal(read[k], state[k]) for k in state)
    assert any("mmengine.logging.message_hub.MessageHub" in n for n in notes)


def test_export_file_factory_with_mmseg_checkpoint_ort_openvino(tmp_path: Path) -> None:
    state = _mmseg_checkpoint(tmp_path / "isa.pth")
    rc = main(["--model", f"{NETS}:build_mmseg_isa", "--checkpoint", str(tmp_path / "isa.pth"), "--input-size",
               "37x53", "--target", "openvino", "--runtimes", "ort,openvino", "--output", str(tmp_path / "out"),
               "--threads", "1"])
    assert rc == 0
    manifest = json.loads((tmp_path / "out" / "build_mmseg_isa" / "manifest.json").read_text())
    assert manifest["verdict"] == "passed" and {r["runtime"] for r in manifest["parity"]} == {"ort", "openvino"}
    conv = manifest["conversion"]
    assert [(m["path"], m["status"]) for m in conv["modules"]] == [("decode_head", "converted")]
    assert conv["whole_model"]["passed"] and conv["whole_model"]["max_rel"] <= 1e-5
    assert any("auxiliary_head" in n for n in conv["checkpoint_notes"])
    assert manifest["weights"]["source"] == "checkpoint" and manifest["model"] == f"{NETS}:build_mmseg_isa"
    from edgeattn.bundle.hashing import weights_sha256

    assert manifest["weights"]["sha256"] == weights_sha256(state)  # the checkpoint's tensors were exported


@pytest.mark.parametrize("factory, replacement", [("build_paka", "PixelAdaptiveKernelAttention"),
                                                  ("build_openseg_isa", "ISABlockExport")])
def test_export_module_factory_dynamic(factory: str, replacement: str, tmp_path: Path) -> None:
    # one dynamic graph, checked at the export size and at another (ISA: 10x14 and 7x13 features, not divisible)
    rc = main(["--model", f"tests.convert.nets:{factory}", "--input-size", "37x53", "--dynamic", "--parity-size",
               "27x49", "--target", "ort", "--output", str(tmp_path), "--threads", "1"])
    assert rc == 0
    manifest = json.loads((tmp_path / factory / "manifest.json").read_text())
    assert manifest["conversion"]["modules"][0]["replacement"].endswith(replacement)
    assert manifest["verdict"] == "passed" and len(manifest["parity"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--model", "no_such_pkg.nets:build"], "module 'no_such_pkg.nets' not found"),
    (["--model", "missing/dir/nets.py:build"], "file 'missing/dir/nets.py' not found"),
    (["--model", f"{NETS}:build_cnet"], "factory 'build_cnet' not found"),
    (["--model", f"{NETS}:build_raises"], "the factory raised ValueError: no such width: 7"),
    (["--model", f"{NETS}:build_not_a_module"], "returned int, expected one torch.nn.Module"),
    (["--model", "tests.convert.nets:build_ccnet", "--input-size", None], "give --input-size"),
    (["--model", "tests.convert.nets:build_ccnet", "--input-channels", "4"], "the model's forward raised"),
])
def test_bad_input_one_line_exit_2(args: list[str], message: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a for a in args if a is not None]
    if "--input-size" not in args:
        argv += ["--input-size", "33x41"]
    elif None in args:
        argv.remove("--input-size")
    rc = main([*argv, "--target", "ort", "--output", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and message in err[-1], err
    assert err[-1].startswith("edgeattn.export: error:") and "Traceback" not in "\n".join(err)
    assert not any(tmp_path.iterdir()) or not any((tmp_path / p.name / "manifest.json").exists()
                                                   for p in tmp_path.iterdir())


def test_checkpoint_not_matching_is_one_line_exit_2(tmp_path: Path) -> None:
    torch.save(nets.build_paka().state_dict(), tmp_path / "paka.pth")
    proc = subprocess.run([sys.executable, "-m", "edgeattn.export", "--model", f"{NETS}:build_ccnet",
                           "--checkpoint", str(tmp_path / "paka.pth"), "--input-size", "33x41", "--target", "ort",
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "does not match the model" in last and "missing keys" in last, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "build_ccnet" / "manifest.json").exists()


def test_dataparallel_prefix_is_removed_and_reported(tmp_path: Path) -> None:
    torch.save({"model": {"module.w": torch.ones(2)}}, tmp_path / "dp.pth")
    state, notes = read_user_state_dict(tmp_path / "dp.pth")
    assert list(state) == ["w"] and any("'module.' prefix" in n for n in notes) and any("'model'" in n for n in notes)


def test_failed_conversion_check_is_exit_1_naming_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.nn import CrissCrossAttention

    orig = CrissCrossAttention.forward_export
    monkeypatch.setattr(CrissCrossAttention, "forward_export", lambda self, x: orig(self, x) * 1.01)
    rc = main(["--model", "tests.convert.nets:build_ccnet", "--input-size", "33x41", "--target", "ort",
               "--output", str(tmp_path)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and "module 'head.cca'" in last and last.startswith("edgeattn.export: error:")
    assert not list(tmp_path.rglob("manifest.json"))
