"""A tiny real bundle for the reliability tests: a 3->4 channel conv net as a user factory, 16x16, exported by the
real export CLI (seconds), so that verify and serve export run on real files without a large model."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FACTORY = textwrap.dedent('''
    import torch
    from torch import nn


    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, image):
            return self.conv(image)


    def tiny():
        torch.manual_seed(0)
        return Tiny()
''')

NAME = "tiny"  # the bundle folder is named after the factory


def export_tiny(folder: Path, *extra: str) -> Path:
    """Export the tiny model into folder/out/tiny (dynamic, so serve export can batch); returns the bundle."""
    from edgeattn.export.__main__ import main

    folder.mkdir(parents=True, exist_ok=True)
    nets = folder / "tiny_net.py"
    nets.write_text(FACTORY)
    out = folder / "out"
    rc = main(["--model", f"{nets}:tiny", "--input-size", "16x16", "--target", "onnx", "--threads", "1",
               "--dynamic", "--output", str(out), *extra])
    assert rc == 0, f"tiny export failed with {rc}"
    return out / NAME


def cli_status(fn: Callable[[list[str]], int], argv: list[str]) -> int:
    """A CLI main's exit status, argparse's refusals (SystemExit, status 2) included."""
    try:
        return fn(argv)
    except SystemExit as exc:
        return int(exc.code)


def one_cli_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The captured stderr, asserted to be one `tool: error: ...` line and no traceback."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err and ": error: " in err, err
    return err
