"""The manifest's JSON Schema (manifest.schema.json, published as docs/manifest.schema.json) and a strict reader.

`load_json(path, what)` parses a bundle's JSON the way a verdict can rely on it: NaN, Infinity and numbers that
overflow to infinity are refused (Python's json accepts them), so are duplicate keys (two parsers could disagree
on which one counts), nesting deep enough to exhaust the stack and files over MAX_JSON_BYTES. `check_schema`
validates with the maintained `jsonschema` library (pure Python; a device-side dependency) and raises one
IntegrityError line naming the first offending field, e.g. `tolerances['fp32/ort'].max_abs: -1 is less than or
equal to the minimum of 0`.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .._bounded import FileTooLarge, read_bounded
from ..errors import IntegrityError, MissingDependencyError

__all__ = ["SCHEMA_FILE", "MAX_JSON_BYTES", "load_json", "loads_json", "check_schema", "manifest_schema"]

SCHEMA_FILE = "manifest.schema.json"
MAX_JSON_BYTES = 16 << 20  # a manifest of a bundle with thousands of files is ~1 MB (bundle/ownership.py: the same)


class _Refused(ValueError):
    pass


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text[:40]} overflows a 64-bit float (numbers must be finite)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"key {key[:80]!r} appears twice in one object")
        out[key] = value
    return out


def _strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys)


def loads_json(data: bytes, what: str, where: str) -> Any:
    """`load_json` for bytes already read (at most MAX_JSON_BYTES); `where` names them in the one-line error."""
    if len(data) > MAX_JSON_BYTES:
        raise IntegrityError(f"{where} is {len(data)} bytes: larger than any {what} edgeattn writes; re-export the "
                             "bundle")
    try:
        return _strict_loads(data.decode("utf-8"))
    except _Refused as exc:
        raise IntegrityError(f"{where} is not a valid {what}: {exc}; re-export the bundle") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{where} is not valid JSON ({exc}); re-export the bundle") from None
    except (RecursionError, ValueError) as exc:
        raise IntegrityError(f"{where} is not a valid {what}: {str(exc)[:200]}; re-export the bundle") from None


def load_json(path: Path, what: str) -> Any:
    """The JSON document at `path`, strictly parsed; IntegrityError (one line) for anything else."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise IntegrityError(f"{path} is {size} bytes: larger than any {what} edgeattn writes "
                                 f"({MAX_JSON_BYTES >> 20} MiB); re-export the bundle")
        text = read_bounded(path, MAX_JSON_BYTES).decode("utf-8")  # the bound again: it may have grown since
        return _strict_loads(text)
    except FileTooLarge:
        raise IntegrityError(f"{path} grew past {MAX_JSON_BYTES >> 20} MiB while it was read: larger than any {what} "
                             "edgeattn writes; re-export the bundle") from None
    except _Refused as exc:
        raise IntegrityError(f"{path} is not a valid {what}: {exc}; re-export the bundle") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc}); re-export the bundle") from None
    except RecursionError:
        raise IntegrityError(f"{path} nests too deeply to be a {what}; re-export the bundle") from None
    except ValueError as exc:  # e.g. an integer literal with more digits than Python converts
        raise IntegrityError(f"{path} is not a valid {what}: {str(exc)[:200]}; re-export the bundle") from None
    except OSError as exc:
        raise IntegrityError(f"cannot read {path}: {exc.strerror or exc}") from None


@lru_cache(maxsize=1)
def manifest_schema() -> dict:
    """The installed schema (package data; docs/manifest.schema.json is the same file)."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _validator(definition: str | None) -> Any:
    try:
        import jsonschema
    except ImportError:
        raise MissingDependencyError("the manifest check needs the jsonschema package: pip install jsonschema "
                                     "(a dependency of edgeattn; in a checkout: pip install -e .)") from None
    schema = manifest_schema()
    if definition is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _where(error: Any) -> str:
    parts = ""
    for p in error.absolute_path:
        parts += f"[{p}]" if isinstance(p, int) else (f".{p}" if p.isidentifier() else f"[{p!r}]")
    return parts.lstrip(".") or "the top level"


def check_schema(document: Any, where: str, definition: str | None = None) -> None:
    """Validate `document` against the manifest schema (or its `$defs/<definition>`); one IntegrityError line."""
    validator = _validator(definition)  # first: it names the package when jsonschema is missing
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(document))
    if error is None:
        return
    field = _where(error)
    if error.validator == "required":
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
        what = f"missing {missing[0]!r}" + ("" if field == "the top level" else f" in {field}")
    elif error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        what = f"{field!r} must be a JSON {' or '.join(types)}, not {json.dumps(error.instance)[:60]}"
    else:
        message = error.message if len(error.message) <= 160 else error.message[:160] + "..."
        what = f"{field}: {message}"
    raise IntegrityError(f"{where} is malformed: {what} (docs/manifest.schema.json); re-export the bundle")
