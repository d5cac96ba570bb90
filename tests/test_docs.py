"""The docs tell the current truth: links point at files that exist, and every example command still parses.

Each `python -m edgeattn.TOOL ...` line in a fenced block of the README and docs/ is split like a shell would and
handed to that tool's own argument parser (its `build_parser()`), so a renamed or removed flag, or a value outside
a flag's vocabulary (a target, precision or runtime), fails here instead of in a user's terminal.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", ROOT / "docker" / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
COMMAND = re.compile(r"python3? -m edgeattn\.([a-z_]+(?:\.[a-z_]+)?)\b")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _links():
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://|^#|^mailto:", target):
                continue
            yield pytest.param(doc, target, id=f"{_rel(doc)}->{target}")


@pytest.mark.parametrize(("doc", "target"), list(_links()))
def test_relative_links_exist(doc, target):
    path = (doc.parent / target.split("#")[0]).resolve()
    assert path.exists(), f"{_rel(doc)} links to {target}, which does not exist"


def _commands():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in FENCE.findall(text):
            logical = re.sub(r"\\\n\s*", " ", block)  # join continued lines
            for line in logical.splitlines():
                line = line.split(" #")[0].strip().lstrip("$ ").strip()
                m = COMMAND.search(line)
                if not m or "|" in line[: m.start()]:
                    continue
                yield pytest.param(m.group(1), line[m.end():], id=f"{_rel(doc)}: {line[:90]}")


COMMANDS = list(_commands())


def test_named_test_files_exist():
    named = {(doc, m) for doc, _, line in _doc_lines() for m in re.findall(r"\btests/[\w/]+\.py\b", line)}
    missing = sorted(f"{_rel(doc)} names {path}" for doc, path in named if not (ROOT / path).is_file())
    assert not missing, "\n".join(missing)


def test_docs_have_example_commands():
    assert len(COMMANDS) >= 10  # the check below is not vacuous


def _option_strings(parser) -> set[str]:  # noqa: ANN001 - an argparse parser, with its sub-commands' options
    import argparse

    out = set()
    for action in parser._actions:
        out.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _option_strings(sub)
    return out


@pytest.mark.parametrize(("tool", "args"), COMMANDS)
def test_example_command_parses(tool, args, capsys):
    module = importlib.import_module(f"edgeattn.{tool}.__main__" if "." not in tool else f"edgeattn.{tool}")
    parser = module.build_parser()
    if "[--" in args or "[-" in args:  # a usage synopsis ("[--flag X]"): every flag it names must exist
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", args))
        unknown = sorted(flags - _option_strings(parser))
        assert not unknown, f"python -m edgeattn.{tool} {args} names flags that do not exist: {unknown}"
        return
    argv = [a for a in shlex.split(args.split(">")[0].split("&&")[0]) if a]
    try:
        parser.parse_args(argv)
    except SystemExit as exc:  # argparse's exit for --help is 0; anything else is a broken example
        err = capsys.readouterr().err
        assert exc.code == 0, f"python -m edgeattn.{tool} {args} no longer parses: {err.strip()}"


# --- Written for users: no development log, and a README short enough to read --------------------------------------

README_BUDGET = 320  # lines: what a user reads before using edgeattn; everything else lives in docs/
DEV_LOG = re.compile(
    r"\b(?:this|that|new this|earlier|previous|next|later|last|first|second|third)[ -](?:session|round)s?\b"
    r"|(?<!inference )\bsessions?\b(?! options)"
    r"|\brounds? of (?:work|review)\b|(?<!TensorRT )\bissues?(?:'s|\s+#?\d+)|\b(?:the|this) issue\b"
    r"|\bthe lead\b|\blead's\b|\bwhat changed in this\b",
    re.I)


def _doc_lines():
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            yield doc, n, line


def test_docs_do_not_speak_of_sessions_rounds_or_issues():
    hits = [f"{_rel(doc)}:{n}: {line.strip()[:120]}" for doc, n, line in _doc_lines() if DEV_LOG.search(line)]
    assert not hits, "README/docs speak of the project's development, not of the tool:\n" + "\n".join(hits)


@pytest.mark.parametrize("line", ["New this session: a flag", "What changed in this round", "Earlier in this issue",
                                  "the lead's quiet-machine run", "(issue 10-device builds it)", "the second round"])
def test_dev_log_pattern_catches_what_it_should(line):
    assert DEV_LOG.search(line)


@pytest.mark.parametrize("line", ["10 interleaved rounds per group", "--goal-rounds 15", "a save/load round trip",
                                  "TensorRT issue 4813 reports wrong results", "ORT session options",
                                  "each round runs every candidate once", "an inference session's pool"])
def test_dev_log_pattern_leaves_measurement_words_alone(line):
    assert not DEV_LOG.search(line)


def test_readme_is_under_its_length_budget():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_BUDGET, f"README.md has {lines} lines; move detail into docs/ (budget {README_BUDGET})"


# --- Every "next:" command export prints runs as printed --------------------------------------------------------------

NEXT_LINE = re.compile(r"^  [a-zA-Z ]+:\s+(python -m edgeattn\.[a-z_.]+ .*?)(?:\s+#.*)?$")
USER_FACTORY = """
import torch
from tests.convert import nets

def build():
    return nets.build_ccnet()
"""


def _printed_next(stdout: str) -> list[str]:
    lines = stdout.split("\nnext:\n", 1)[1].splitlines()
    return [m.group(1) for m in map(NEXT_LINE.match, lines) if m]


def _cannot_run_here(command: str) -> str | None:
    from edgeattn.runtimes import runtime_class

    if "edgeattn.tensorrt." in command or "--runtimes tensorrt" in command:
        ok, why = runtime_class("tensorrt").available()
        return None if ok else why
    return None


@pytest.mark.slow
@pytest.mark.parametrize(("args", "expect"), [
    pytest.param(["--model", "lga_mobilenet", "--pretrained", "--target", "openvino", "--runtimes", "ort,openvino",
                  "--input-size", "64x128"], ["--sizes 64x128 --runtimes torch,openvino"], id="openvino-fp32"),
    pytest.param(["--model", "lga_mobilenet", "--pretrained", "--target", "ort", "--precision", "int8",
                  "--input-size", "64x64", "--calib-samples", "2", "--eval-samples", "2"],
                 ["--sizes 64x64 --runtimes ort --precisions fp32,int8"], id="ort-int8"),
    pytest.param(["--model", "{factory}:build", "--input-size", "33x41", "--target", "ort", "--name", "my_net"],
                 [], id="user-model"),
    pytest.param(["--model", "lga_mobilenet", "--target", "trt", "--input-size", "64x64", "--no-parity"],
                 ["edgeattn.tensorrt.build"], id="trt"),
])
def test_every_next_command_runs_as_printed(args, expect, tmp_path):
    import subprocess
    import sys

    (tmp_path / "factory.py").write_text(USER_FACTORY)
    args = [a.replace("{factory}", str(tmp_path / "factory.py")) for a in args]
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out dir"  # a space: every printed path must be quoted for a shell
    export = subprocess.run([sys.executable, "-m", "edgeattn.export", *args, "--threads", "2", "--output", str(out)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert export.returncode == 0, export.stderr[-3000:]
    commands = _printed_next(export.stdout)
    assert commands and all(any(e in c for c in commands) for e in expect), export.stdout
    assert not any("--models " in c and ":" in c.split("--models ")[1].split()[0] for c in commands)  # bench refuses
    ran = 0
    for command in commands:
        argv = shlex.split(command)
        assert argv[:2] == ["python", "-m"], command
        module = importlib.import_module(f"edgeattn.{argv[2].split('.', 1)[1]}"
                                         + ("" if "tensorrt." in argv[2] else ".__main__"))
        module.build_parser().parse_args(argv[3:])  # every line parses, also those that need a device
        if _cannot_run_here(command):
            continue
        proc = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=600,
                              cwd=tmp_path, env=env)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        ran += 1
    assert ran >= 1 or "trt" in args  # a trt bundle's next steps run on the device (TensorRT), parsed above
