"""python -m edgeattn.export --pretrained: the shipped trained weights go into the export; clear errors."""

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeattn.export.__main__ import main as export_main
from edgeattn.models import create_model


def test_pretrained_export_carries_the_trained_weights(tmp_path, capsys):
    code = export_main(["--model", "lga_dehaze", "--pretrained", "--input-size", "32x32", "--output", str(tmp_path),
                        "--threads", "2"])
    assert code == 0 and "PASSED" in capsys.readouterr().out.splitlines()
    manifest = json.loads((tmp_path / "lga_dehaze" / "manifest.json").read_text())
    assert manifest["options"]["pretrained"] is True
    # the last conv's weights in the graph are the shipped ones (fp16 values in float32), not a random init
    trained = create_model("lga_dehaze", pretrained=True).state_dict()["dec1.1.weight"].numpy()
    graph = onnx.load(str(tmp_path / "lga_dehaze" / "model.onnx"))
    inits = [numpy_helper.to_array(t) for t in graph.graph.initializer]
    assert any(a.shape == trained.shape and np.array_equal(a, trained) for a in inits)


@pytest.mark.parametrize("argv, message", [
    (["--model", "psal_inpaint", "--pretrained"], "no trained weights for model 'psal_inpaint'; models with weights:"),
    (["--model", "lga_dehaze", "--pretrained", "--checkpoint", "x.pt"], "does not exist"),
])
def test_pretrained_errors_are_one_line_with_exit_status_2(tmp_path, capsys, argv, message):
    assert export_main([*argv, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_pretrained_and_checkpoint_exclude_each_other(tmp_path, capsys):
    ck = tmp_path / "w.pt"
    import torch

    torch.save(create_model("lga_dehaze").state_dict(), ck)
    assert export_main(["--model", "lga_dehaze", "--pretrained", "--checkpoint", str(ck), "--output",
                        str(tmp_path / "out")]) == 2
    assert "--pretrained and --checkpoint exclude each other" in capsys.readouterr().err
