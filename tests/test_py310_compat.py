"""edgeattn must import on Python 3.10 (JetPack 6 ships 3.10; the runtime side runs there).

Two checks over the whole package: ruff's parser with target py310 (3.11+ syntax such as `except*`, PEP 695
generics, `type` aliases), and an AST scan for standard-library names added in 3.11+ that the parser cannot see.
Each check is also run once on a file written to violate it, so the test is known to be able to fail.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "edgeattn"
RUFF = Path(sys.executable).parent / "ruff"

# module -> names added in Python 3.11+ (docs.python.org "What's New In Python 3.11/3.12")
NEW_STDLIB = {
    "tomllib": None,  # the whole module is 3.11+
    "typing": {"Self", "LiteralString", "Never", "assert_never", "reveal_type", "Required", "NotRequired",
               "TypeVarTuple", "Unpack", "dataclass_transform", "override"},
    "datetime": {"UTC"},
    "enum": {"StrEnum", "ReprEnum", "verify", "EnumCheck", "FlagBoundary"},
    "asyncio": {"TaskGroup", "Runner", "timeout"},
    "hashlib": {"file_digest"},
    "contextlib": {"chdir"},
}
NEW_BUILTINS = {"ExceptionGroup", "BaseExceptionGroup"}


def ruff_py310_syntax_errors(path: Path) -> list[str]:
    proc = subprocess.run([str(RUFF), "check", "--isolated", "--target-version", "py310", "--select", "E9",
                           "--output-format", "json", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return [f"{d['filename']}:{d['location']['row']}: {d['message']}" for d in json.loads(proc.stdout)
            if d["code"] in ("invalid-syntax", None, "E999")]


def new_stdlib_uses(path: Path) -> list[str]:
    found = []
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    for file in files:
        tree = ast.parse(file.read_text(), str(file))
        imported_modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imported_modules[alias.asname or alias.name] = alias.name
                    if alias.name in NEW_STDLIB and NEW_STDLIB[alias.name] is None:
                        found.append(f"{file}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module in NEW_STDLIB:
                names = NEW_STDLIB[node.module]
                for alias in node.names:
                    if names is None or alias.name in names:
                        found.append(f"{file}:{node.lineno}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                module = imported_modules.get(node.value.id)
                if module in NEW_STDLIB and NEW_STDLIB[module] and node.attr in NEW_STDLIB[module]:
                    found.append(f"{file}:{node.lineno}: {module}.{node.attr}")
            elif isinstance(node, ast.Name) and node.id in NEW_BUILTINS:
                found.append(f"{file}:{node.lineno}: builtin {node.id}")
    return found


def test_package_has_no_py311_syntax():
    assert ruff_py310_syntax_errors(PACKAGE) == []


def test_package_uses_no_py311_stdlib_names():
    assert new_stdlib_uses(PACKAGE) == []


def test_the_checks_catch_py311_code(tmp_path):
    syntax_file = tmp_path / "syntax.py"  # not parseable by this interpreter's ast either (PEP 695 is 3.12)
    syntax_file.write_text("try:\n    pass\nexcept* ValueError:\n    pass\n\n"
                           "def first[T](xs: list[T]) -> T:\n    return xs[0]\n")
    syntax = ruff_py310_syntax_errors(syntax_file)
    assert any("except*" in s for s in syntax) and any("type parameter" in s.lower() for s in syntax), syntax
    names_file = tmp_path / "names.py"
    names_file.write_text("import datetime\nimport tomllib\nfrom typing import Self\n\n"
                          "NOW = datetime.UTC\nERR = ExceptionGroup\n")
    assert ruff_py310_syntax_errors(names_file) == []  # valid 3.10 syntax: only the name scan sees these
    names = " | ".join(new_stdlib_uses(names_file))
    for what in ("import tomllib", "import Self", "datetime.UTC", "builtin ExceptionGroup"):
        assert what in names, names
