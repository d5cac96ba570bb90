"""A check that cannot fail is flagged: attention blocks with gamma = 0 output their input, whatever they compute."""

from __future__ import annotations

from pathlib import Path

import torch

from edgeattn import convert
from edgeattn.convert.vacuous import vacuous_blocks
from edgeattn.export.__main__ import main

from . import nets
from . import refmods as R

FACTORY = """
import torch
from tests.convert import nets, refmods as R

def build():
    torch.manual_seed(0)
    return nets.SegNet(nets.RCCAModule(R.CrissCrossAttention(16)))   # CCNet's init: gamma = 0
"""


def test_gamma_zero_is_found_and_a_trained_gamma_is_not():
    model = nets.SegNet(nets.RCCAModule(R.CrissCrossAttention(16)))
    assert vacuous_blocks(model) == ["head.cca"]
    assert vacuous_blocks(nets.build_ccnet()) == []  # the test nets' realistic init: gamma != 0


def test_convert_notes_a_vacuous_check_in_one_line():
    torch.manual_seed(0)
    model = nets.SegNet(nets.RCCAModule(R.CrissCrossAttention(16)))
    result = convert(model, example=torch.rand(1, 3, 33, 41))
    assert result.passed  # it passes...
    notes = [n for n in result.notes if "gamma = 0" in n]
    assert len(notes) == 1 and "proves nothing" in notes[0] and "\n" not in notes[0]  # ...and says what that means
    assert "proves nothing" in result.table()


def test_export_of_a_gamma_zero_user_model_says_so(tmp_path: Path, capsys):
    (tmp_path / "zero.py").write_text(FACTORY)
    rc = main(["--model", f"{tmp_path / 'zero.py'}:build", "--input-size", "33x41", "--target", "ort",
               "--name", "zero_ccnet", "--output", str(tmp_path / "out"), "--threads", "2"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert rc == 0 and (tmp_path / "out" / "zero_ccnet" / "manifest.json").is_file()  # --name names the bundle
    assert sum("proves nothing" in line for line in text.splitlines()) == 1, text
    report = tmp_path / "out" / "zero_ccnet-report" / "verify.html"  # export's HTML report, beside the bundle
    assert report.is_file() and f"report: {report}" in captured.out and "<img class=\"heat\"" in report.read_text()
