"""python -m edgeattn.train: a handful of steps at tiny sizes; checkpoints the export CLI loads; clear errors."""

import numpy as np
import pytest
import torch

from edgeattn.errors import InvalidOptionError, UnknownNameError
from edgeattn.export.__main__ import main as export_main
from edgeattn.models import create_model
from edgeattn.train import TASK_RECIPES, TrainConfig, train
from edgeattn.train.__main__ import main as train_main

QUIET = dict(progress=lambda msg: None)


def test_segmentation_with_lga_uses_the_edge_loss_and_the_checkpoint_exports(tmp_path, capsys):
    out = tmp_path / "ck" / "lga.pt"
    code = train_main(["--model", "lga_mobilenet", "--steps", "2", "--batch", "2", "--size", "32x32",
                       "--eval-samples", "2", "--output", str(out), "--threads", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and out.is_file()
    assert "before: mIoU=" in printed and "after:  mIoU=" in printed and "edge=" in printed
    state = torch.load(out, weights_only=True)
    model = create_model("lga_mobilenet", checkpoint=out)  # strict load: same keys and shapes
    torch.testing.assert_close(model.state_dict()["classifier.weight"], state["classifier.weight"])
    code = export_main(["--model", "lga_mobilenet", "--checkpoint", str(out), "--input-size", "32x64",
                        "--output", str(tmp_path / "export"), "--threads", "2"])
    assert code == 0 and "PASSED" in capsys.readouterr().out.splitlines()


def test_a_model_without_lga_trains_without_the_edge_loss():
    recipe = TASK_RECIPES["segmentation"]
    model = create_model("nonlocal_mobilenet").train()
    batch = recipe.make_batch(np.random.default_rng(0), 2, 32, 32, model)
    loss, parts = recipe.loss(model, batch, 0.5)
    assert set(parts) == {"ce"} and torch.isfinite(loss)


@pytest.mark.parametrize("name, metric, keys", [("lga_dehaze", "PSNR", {"PSNR", "SSIM", "PSNR_input"}),
                                                ("lga_flow", "EPE", {"EPE", "EPE_noc", "EPE_zero"})])
def test_dehazing_and_flow_train_and_report_their_metric(tmp_path, name, metric, keys):
    result = train(TrainConfig(model=name, steps=2, batch=2, size=(32, 48), eval_samples=2,
                               output=tmp_path / f"{name}.pt", threads=2), **QUIET)
    assert result.metric == metric and set(result.before) == set(result.after) == keys
    assert all(np.isfinite(v) for v in [*result.before.values(), *result.after.values()])
    assert (tmp_path / f"{name}.pt").is_file()


@pytest.mark.parametrize("name, task, ratio", [("dehaze_base", "dehazing", 0.8), ("flow_base", "flow", 0.9),
                                               ("nonlocal_mobilenet", "segmentation", 0.8)])
def test_a_few_steps_on_one_batch_reduce_the_loss(name, task, ratio):
    # Overfitting one fixed batch must lower the loss: the loss is wired to the parameters.
    recipe = TASK_RECIPES[task]
    model = create_model(name).train()
    batch = recipe.make_batch(np.random.default_rng(0), 2, 32, 48, model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        loss, _ = recipe.loss(model, batch, 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < ratio * losses[0], losses


def test_bad_input_gives_a_clear_error(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean: lga_mobilenet"):
        train(TrainConfig(model="lga_mobilenett", output=tmp_path / "x.pt"), **QUIET)
    with pytest.raises(InvalidOptionError, match="--steps must be >= 1"):
        train(TrainConfig(model="lga_mobilenet", steps=0, output=tmp_path / "x.pt"), **QUIET)
    with pytest.raises(InvalidOptionError, match="too small"):
        train(TrainConfig(model="lga_mobilenet", size=(16, 16), output=tmp_path / "x.pt"), **QUIET)
    with pytest.raises(InvalidOptionError, match="is a directory"):
        train(TrainConfig(model="lga_mobilenet", output=tmp_path), **QUIET)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("argv, message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--model", "lga_mobilenet", "--steps", "0"], "--steps must be >= 1"),
    (["--model", "lga_mobilenet", "--output", "/proc/edgeattn/x.pt"], "cannot write the checkpoint"),
])
def test_cli_errors_are_one_line_with_exit_status_2(capsys, argv, message):
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.train: error:") and message in err and err.count("\n") == 1
