"""Held-out evaluation: the shipped weights reach their task targets; the --eval CLI; --fp16 and --shared-backbone."""

import json

import pytest
import torch

from edgeattn.models import create_model
from edgeattn.models.pretrained import pretrained_models, weights_info
from edgeattn.train import TrainConfig, train
from edgeattn.train.__main__ import main as train_main
from edgeattn.train.evaluate import (HELD_OUT_SEED, RECORDED_SCORE_TOLERANCE, TASK_TARGETS, evaluate,
                                     evaluate_weights)

QUIET = dict(progress=lambda msg: None)


@pytest.mark.parametrize("name", pretrained_models())
def test_shipped_weights_reach_their_recorded_held_out_metric(name):
    """A real evaluation: the shipped (fp16) weights on the recorded held-out set (64 samples at the training
    size, 64x64 or 64x96: small, a few seconds) score what their JSON says, and the target verdict holds."""
    record = weights_info(name).raw["held_out"]
    result = evaluate_weights(name, samples=record["samples"], threads=2)
    assert list(result.size) == record["size"] and result.seed == record["seed"] == HELD_OUT_SEED
    for k, v in record["metrics"].items():
        assert result.metrics[k] == pytest.approx(v, abs=RECORDED_SCORE_TOLERANCE), k
    assert result.score == pytest.approx(record["score"], abs=RECORDED_SCORE_TOLERANCE)
    assert record["passed"] == result.passed == TASK_TARGETS[result.task].passes(result.metrics), result.summary()


def test_trivial_answers_score_their_reference():
    # The references are what they claim: the identity dehazer scores PSNR_input, zero flow scores EPE_zero.
    class Identity(torch.nn.Module):
        def forward(self, x):
            return x

    class Zero(torch.nn.Module):
        def forward(self, a, b):
            return torch.zeros_like(a[:, :2])

    d = evaluate(Identity(), "dehazing", (32, 48), samples=2)
    assert d.metrics["PSNR"] == pytest.approx(d.metrics["PSNR_input"], abs=1e-4)
    assert d.score == pytest.approx(0, abs=1e-4)
    f = evaluate(Zero(), "flow", (32, 48), samples=2)
    assert f.metrics["EPE"] == pytest.approx(f.metrics["EPE_zero"]) and f.score == pytest.approx(1.0)
    assert not d.passed and not f.passed


def test_eval_cli_exit_status_says_whether_the_target_is_reached(tmp_path, capsys):
    out = tmp_path / "tiny.pt"
    assert train_main(["--model", "dehaze_base", "--steps", "1", "--batch", "1", "--size", "32x32",
                       "--eval-samples", "1", "--output", str(out), "--threads", "2"]) == 0
    capsys.readouterr()
    # one step from random init: nowhere near 6 dB above the hazy input -> exit 1
    assert train_main(["--eval", "--model", "dehaze_base", "--weights", str(out), "--eval-samples", "2"]) == 1
    printed = capsys.readouterr().out
    assert "held-out (2 samples, 32x32, seed 1000)" in printed and "NOT reached" in printed


@pytest.mark.parametrize("argv, message", [
    (["--eval", "--model", "psal_inpaint"], "no held-out evaluation for task 'inpainting'"),
    (["--eval", "--model", "ccnet_mobilenet"], "models with weights: "),
    (["--model", "lga_dehaze", "--weights", "x.pt"], "--weights needs --eval"),
    (["--eval", "--model", "lga_dehaze", "--weights", "/nonexistent.pt"], "does not exist"),
])
def test_eval_cli_errors_are_one_line_with_exit_status_2(capsys, argv, message):
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.train: error:") and message in err and err.count("\n") == 1


def test_fp16_storage_records_the_metrics_of_the_stored_weights(tmp_path):
    out = tmp_path / "w.pt"
    result = train(TrainConfig(model="dehaze_base", steps=2, batch=2, size=(32, 32), eval_samples=2, output=out,
                               threads=2, fp16=True, command="test"), **QUIET)
    record = json.loads(out.with_suffix(".json").read_text())
    state = torch.load(out, weights_only=True)
    assert record["storage"] == "float16" and all(v.dtype == torch.float16 for v in state.values()
                                                  if v.is_floating_point())
    again = evaluate_weights("dehaze_base", out, samples=2)  # size from the record: 32x32
    assert again.metrics == pytest.approx(record["held_out"]["metrics"], abs=1e-4)
    assert result.held_out is not None and record["held_out"]["score"] == pytest.approx(result.held_out.score, abs=1e-4)


@pytest.mark.skipif("lga_mobilenet" not in pretrained_models(), reason="lga_mobilenet has no shipped weights")
def test_shared_backbone_is_frozen_and_not_stored(tmp_path):
    out = tmp_path / "nl.pt"
    train(TrainConfig(model="nonlocal_mobilenet", steps=2, batch=2, size=(32, 32), eval_samples=1, output=out,
                      threads=2, fp16=True, shared_backbone="lga_mobilenet"), **QUIET)
    state = torch.load(out, weights_only=True)
    record = json.loads(out.with_suffix(".json").read_text())
    assert not any(k.startswith("backbone.") for k in state) and "classifier.weight" in state
    assert record["shared_from"] == {"model": "lga_mobilenet", "prefix": "backbone.",
                                     "sha256": weights_info("lga_mobilenet").sha256}
    result = evaluate_weights("nonlocal_mobilenet", out, samples=1)  # completes the backbone from the record
    assert result.size == (32, 32)


@pytest.mark.skipif("lga_mobilenet" not in pretrained_models(), reason="lga_mobilenet has no shipped weights")
def test_training_leaves_a_shared_backbone_untouched():
    from edgeattn.train.loop import _fit, _share_backbone
    from edgeattn.train.tasks import TASK_RECIPES

    model = create_model("nonlocal_mobilenet")
    _share_backbone(model, "lga_mobilenet")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(model="nonlocal_mobilenet", steps=2, batch=2, lr=1e-2)
    _fit(model, TASK_RECIPES["segmentation"], config, 32, 32, lambda m: None, frozen_backbone=True)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any(k.startswith("backbone.") for k in changed)  # BN statistics included


def test_list_weights_prints_one_row_per_shipped_model(capsys):
    assert train_main(["--list-weights"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == pretrained_models()


def test_init_from_starts_from_a_checkpoint_and_records_its_lineage(tmp_path):
    from edgeattn._atomic import sha256_file

    first = tmp_path / "a.pt"
    train(TrainConfig(model="dehaze_base", steps=1, batch=1, size=(32, 32), eval_samples=1, output=first,
                      threads=2, command="first"), **QUIET)
    second = tmp_path / "b.pt"
    result = train(TrainConfig(model="dehaze_base", steps=1, batch=1, size=(32, 32), eval_samples=1, output=second,
                               threads=2, init_from=first, lr=1e-12), **QUIET)
    record = json.loads(second.with_suffix(".json").read_text())
    assert record["init_from"]["sha256"] == sha256_file(first) and record["init_from"]["record"]["command"] == "first"
    assert result.before == pytest.approx(json.loads(first.with_suffix(".json").read_text())["held_out"]["metrics"],
                                          abs=1e-4)  # it started from the first run's weights


def test_eval_cli_defaults_to_the_recorded_held_out_set(capsys):
    """The README's re-check `train --eval --model lga_mobilenet` (no --eval-samples) measures the recorded 64
    samples and reproduces the recorded score; 16 samples of the same set would say NOT reached."""
    record = weights_info("lga_mobilenet").raw["held_out"]
    assert train_main(["--eval", "--model", "lga_mobilenet", "--threads", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"held-out ({record['samples']} samples, 64x64, seed {record['seed']})" in printed
    assert f"mIoU={record['metrics']['mIoU']:.4f}" in printed and "-> reached" in printed
