"""Every edgeattn command behaves as one family: the same error line, the same exit table, the same runtime names.

One parametrized test per convention over every CLI, so a new command (or a changed one) that drifts fails here.
"""

from __future__ import annotations

import importlib

import pytest

from edgeattn.cli import EXIT_STATUS_HELP
from edgeattn.errors import EXIT_BAD_INPUT

# tool -> (arguments that reach the runtime vocabulary, flag-free arguments that make a complete command)
TOOLS = {
    "export": ["--model", "lga_mobilenet", "--runtimes", "{runtimes}"],
    "verify": ["bundle-that-does-not-exist", "--runtimes", "{runtimes}"],
    "parity": ["--model", "lga_mobilenet", "--runtimes", "{runtimes}"],
    "bench": ["--models", "lga_mobilenet", "--runtimes", "{runtimes}"],
    "train": ["--model", "lga_mobilenet"],
    "serve": ["check", "http://127.0.0.1:1", "bundle-that-does-not-exist"],
    "tensorrt.build": ["bundle-that-does-not-exist"],
    "tensorrt.check": ["bundle-that-does-not-exist"],
    "tensorrt.bench": ["bundle-that-does-not-exist", "--runtime", "{runtimes}"],
}


def _main(tool: str):
    if "." in tool:  # edgeattn.tensorrt.build etc.: the module itself is the command
        return importlib.import_module(f"edgeattn.{tool}")
    return importlib.import_module(f"edgeattn.{tool}.__main__")


def _run(tool: str, argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = _main(tool).main(argv)
    except SystemExit as exc:  # argparse exits from inside parse_args
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("tool", TOOLS)
def test_help_ends_with_the_one_exit_table(tool):
    text = _main(tool).build_parser().format_help()
    assert EXIT_STATUS_HELP.strip() in text, f"python -m edgeattn.{tool} --help lacks the exit-status table"


@pytest.mark.parametrize("tool", TOOLS)
def test_unknown_flag_is_one_line_with_a_hint(tool, capsys):
    code, err = _run(tool, ["--no-such-flag"], capsys)
    assert code == EXIT_BAD_INPUT
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"edgeattn.{tool}: error: ")
    assert f"python -m edgeattn.{tool} --help" in lines[0]


@pytest.mark.parametrize("tool", [t for t, argv in TOOLS.items() if "{runtimes}" in argv])
def test_unknown_runtime_is_one_line_naming_the_aliases(tool, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    argv = [a.replace("{runtimes}", "tensorrtt" if tool == "tensorrt.bench" else "ort,tensorrtt")
            for a in TOOLS[tool]]
    code, err = _run(tool, argv, capsys)
    assert code == EXIT_BAD_INPUT
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgeattn.{tool}: error: "), err
    assert "tensorrtt" in lines[0] and "trt=tensorrt" in lines[0]
    assert not any(tmp_path.iterdir()), "a refused command wrote files"
