"""Every number flag of every CLI is range-checked before work starts: negative, zero where it means nothing, huge,
NaN and infinities are one line naming the flag and the range, exit 2, nothing written (docs/limits.md). The
argparse factories themselves (edgeattn/cli.py int_arg, float_arg, check_range) first."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeattn.cli import check_range, float_arg, int_arg
from edgeattn.errors import InvalidOptionError

from .reliability_bundle import cli_status as _status
from .reliability_bundle import export_tiny
from .reliability_bundle import one_cli_line as _one_line

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("text", ["-1", "0", "1001", str(10**30), "9" * 5000, "1.5", "1e3", "", "lots"])
def test_int_arg_refuses_what_is_not_an_integer_in_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"--reps must be an integer in 1\.\.1000.*pass --reps"):
        int_arg("--reps", 1, 1000)(text)
    assert int_arg("--reps", 1, 1000)("1000") == 1000


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "-1", "0", "1e300", "x"])
def test_float_arg_refuses_nan_infinities_and_out_of_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"--budget must be a (finite )?number in \(0, 60\]"):
        float_arg("--budget", 0, 60, low_open=True)(text)
    assert float_arg("--budget", 0, 60, low_open=True)("60") == 60.0


def test_check_range_takes_only_the_kind_of_number_its_bounds_are() -> None:
    assert check_range(3, "--n", 1, 4) == 3 and check_range(0.5, "--x", 0.0, 1.0) == 0.5
    for bad in (True, 2.0, None, "3"):
        with pytest.raises(InvalidOptionError, match="--n must be an integer in 1..4"):
            check_range(bad, "--n", 1, 4)
    with pytest.raises(InvalidOptionError, match=r"--x must be a finite number in \[0, 1\]"):
        check_range(float("nan"), "--x", 0.0, 1.0)


# (flag, bad value, what the line must say): one parametrized case per class of bad value
PATCHMATCH = [
    ("--reps", "-1", "1..1000"), ("--reps", "0", "1..1000"), ("--reps", str(10**9), "1..1000"),
    ("--n-iters", "-1", "0..100"), ("--n-iters", str(10**9), "0..100"),
    ("--sizes", "-64", "4..1024"), ("--sizes", "0", "4..1024"), ("--sizes", "64,1000000", "4..1024"),
    ("--sizes", ",".join(["64"] * 9), "1..8 comma-separated sides"), ("--sizes", ",", "1..8 comma-separated sides"),
    ("--max-dense-gib", "-1", "[0, 1024]"), ("--max-dense-gib", "1e12", "[0, 1024]"),
    ("--max-dense-gib", "nan", "[0, 1024]"), ("--max-dense-gib", "inf", "[0, 1024]"),
    ("--only", "layers", "Did you mean: layer"),
    ("--cell", "dense 100000", "--cell SIZE must be an integer in 4..1024"),
]


@pytest.mark.parametrize("flag, value, needle", PATCHMATCH, ids=[f"{f}={v[:12]}" for f, v, _ in PATCHMATCH])
def test_patchmatch_bench_numbers_are_bounded(flag: str, value: str, needle: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from edgeattn.bench.patchmatch import main as patchmatch

    out = tmp_path / "rows.json"
    assert _status(patchmatch, [flag, *value.split(" "), "--json", str(out)]) == 2
    line = _one_line(capsys)
    assert flag.split()[0] in line and needle in line, line
    assert not out.exists()


def _cases(tiny: Path, out: Path) -> dict[str, tuple[Callable[[list[str]], int], list[str]]]:
    from edgeattn.bench.__main__ import main as bench
    from edgeattn.emulate.__main__ import main as emulate
    from edgeattn.export.__main__ import main as export
    from edgeattn.parity.__main__ import main as parity
    from edgeattn.tensorrt.bench import main as trt_bench
    from edgeattn.train.__main__ import main as train

    return {"parity": (parity, ["--model", "lga_mobilenet", "--sizes", "32x32", "--output", str(out)]),
            "train": (train, ["--model", "lga_dehaze", "--steps", "1", "--output", str(out / "w.pt")]),
            "train --eval": (train, ["--eval", "--model", "lga_dehaze"]),
            "bench": (bench, ["--models", "lga_mobilenet", "--sizes", "32x32", "--output", str(out)]),
            "bench goals": (bench, ["--goals-only", "--output", str(out)]),
            "tensorrt.bench": (trt_bench, [str(tiny), "--runtime", "ort", "--output", str(out)]),
            "emulate": (emulate, [str(tiny), "--device", "jetson-orin", "--json", str(out / "r.json")]),
            "export": (export, ["--model", "lga_mobilenet", "--input-size", "32x32", "--target", "ort", "--precision",
                                "int8", "--output", str(out)])}


OTHERS = [
    ("parity", "--seed", "-1", "0..4294967295"), ("parity", "--seed", str(2**40), "0..4294967295"),
    ("parity", "--opset", "0", "writes opset 7..23"), ("parity", "--opset", "99", "writes opset 7..23"),
    ("train", "--seed", "-1", "0..4294967295"), ("train", "--eval-seed", str(2**40), "0..4294967295"),
    ("train", "--edge-loss-weight", "-1", "[0, 1000]"), ("train", "--edge-loss-weight", "nan", "[0, 1000]"),
    ("train", "--edge-loss-weight", "inf", "[0, 1000]"),
    ("train --eval", "--eval-samples", str(10**9), "1..100000"), ("train --eval", "--eval-seed", "-1", "0..4294967295"),
    ("bench", "--budget", "-5", "(0, 86400]"),  # 0 is valid there: no budget, always --iters
    ("bench", "--budget", "nan", "(0, 86400]"), ("bench", "--budget", "inf", "(0, 86400]"),
    ("bench goals", "--goal-rounds", str(10**9), "3..1000"), ("bench goals", "--goal-repeats", str(10**9), "1..100"),
    ("tensorrt.bench", "--iters", "0", "1..100000"), ("tensorrt.bench", "--iters", str(10**12), "1..100000"),
    ("tensorrt.bench", "--warmup", "-1", "0..10000"), ("tensorrt.bench", "--warmup", str(10**12), "0..10000"),
    ("emulate", "--threads", "0", "--threads must be >= 1"), ("emulate", "--threads", str(10**6), "pass 1.."),
    ("export", "--max-drop", "inf", "finite number >= 0"), ("export", "--max-drop", "nan", "finite number >= 0"),
]


@pytest.mark.parametrize("tool, flag, value, needle", OTHERS, ids=[f"{t}:{f}={v[:12]}" for t, f, v, _ in OTHERS])
def test_every_other_number_flag_is_bounded(tool: str, flag: str, value: str, needle: str, tiny: Path,
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    fn, argv = _cases(tiny, out)[tool]
    assert _status(fn, [*argv, flag, value]) == 2
    line = _one_line(capsys)
    assert flag in line and needle in line, line
    assert not out.exists()  # refused before any work
