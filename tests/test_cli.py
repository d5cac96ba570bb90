"""edgeattn.cli: the one runtime vocabulary, error format and exit table every command uses."""

from __future__ import annotations

import errno

import pytest

from edgeattn.cli import EXIT_STATUS_HELP, ArgumentParser, canonical_runtime, parse_runtimes, run_cli
from edgeattn.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NOT_VERIFIED, InvalidOptionError
from edgeattn.runtimes import runtime_class

ALLOWED = ("torch", "ort", "openvino", "tensorrt", "reference")


@pytest.mark.parametrize(("alias", "name"), [("trt", "tensorrt"), ("TRT", "tensorrt"), ("onnxruntime", "ort"),
                                             ("ov", "openvino"), ("pytorch", "torch"), ("ort", "ort")])
def test_aliases_map_to_one_name(alias, name):
    assert canonical_runtime(alias) == name
    assert parse_runtimes(alias, ALLOWED) == (name,)


def test_runtime_class_accepts_aliases():
    assert runtime_class("trt") is runtime_class("tensorrt")
    assert runtime_class("ov") is runtime_class("openvino")


def test_duplicates_are_dropped_in_order():
    assert parse_runtimes("ort,openvino,ort,onnxruntime,ov", ALLOWED) == ("ort", "openvino")


def test_unknown_runtime_names_the_choices_and_suggests():
    with pytest.raises(InvalidOptionError) as err:
        parse_runtimes("ort,openvin", ("ort", "openvino"))
    msg = str(err.value)
    assert "'openvin'" in msg and "Did you mean: openvino" in msg and "ov=openvino" in msg


def test_empty_list_is_refused():
    with pytest.raises(InvalidOptionError, match="empty"):
        parse_runtimes(" , ", ALLOWED)


def test_usage_error_is_one_line_with_a_hint(capsys):
    p = ArgumentParser("demo", description="d")
    p.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--n", "x"])
    assert exc.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("edgeattn.demo: error: argument --n: invalid int value: 'x'")
    assert "python -m edgeattn.demo --help" in err


def test_help_ends_with_the_exit_table():
    p = ArgumentParser("demo", description="d", epilog="examples:\n  x")
    assert p.format_help().rstrip().endswith(EXIT_STATUS_HELP.rstrip())


def test_run_cli_statuses(capsys):
    def bad() -> int:
        raise InvalidOptionError("--size 0x0 is not a size\nsecond line")

    assert run_cli("demo", bad) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "edgeattn.demo: error: --size 0x0 is not a size second line\n"

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_cli("demo", interrupted) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err

    def full() -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "out/model.onnx")

    assert run_cli("demo", full) == EXIT_BAD_INPUT
    assert "no space left" in capsys.readouterr().err
    assert run_cli("demo", lambda: EXIT_NOT_VERIFIED) == EXIT_NOT_VERIFIED


# The user-facing conventions every CLI shares, through the real parsers (exit 2, one line, a suggestion).
@pytest.mark.parametrize(("tool", "argv", "expect"), [
    ("export", ["--model", "m", "--target", "ORT"], ("target", "ort")),
    ("export", ["--model", "m", "--precision", "INT8"], ("precision", "int8")),
    ("export", ["--model", "m", "--int8-weights", "Per-Tensor"], ("int8_weights", "per-tensor")),
    ("serve", ["export", "b", "--server", "Triton", "--output", "r"], ("server", "triton")),
])
def test_choices_are_case_insensitive_where_unambiguous(tool, argv, expect):
    import importlib

    args = importlib.import_module(f"edgeattn.{tool}.__main__").build_parser().parse_args(argv)
    assert getattr(args, expect[0]) == expect[1]


@pytest.mark.parametrize(("tool", "argv", "needle"), [
    ("export", ["--model", "m", "--target", "ORTT"], "Did you mean: ort"),
    ("export", ["--model", "m", "--precision", "INT9"], "Did you mean: int8"),
    ("bench", ["--models", "lga_mobilenet nonlocal_mobilenet"], "--models lga_mobilenet,nonlocal_mobilenet"),
    ("bench", ["--sizes", "64x64 32x32"], "separate them with commas"),
    ("bench", ["--runtimes", "ort openvino", "--no-models", "--no-sweep"], "--runtimes ort,openvino"),
    ("verify", ["b", "--runtimes", "ort openvino"], "--runtimes ort,openvino"),
    ("export", ["--model", "lga_mobilenet", "--runtimes", "ort openvino", "--output", "/nonexistent/x"],
     "--runtimes ort,openvino"),
])
def test_refusals_are_one_line_with_a_suggestion(tool, argv, needle, capsys):
    import importlib

    main = importlib.import_module(f"edgeattn.{tool}.__main__").main
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == EXIT_BAD_INPUT and needle in err and err.count("\n") == 1, err


def test_size_help_says_what_one_number_means(capsys):
    from edgeattn.export.__main__ import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "one number N means NxN (512 = 512x512)" in text
    assert build_parser().parse_args(["--input-size", "512"]).input_size == (512, 512)
