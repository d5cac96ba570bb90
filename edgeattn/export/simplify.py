"""Graph simplification (onnxslim or onnxsim), followed by a structural re-check.

Simplification folds constants (e.g. the neighbour-validity masks of LGA at static sizes), removes
Identity/Cast noise left by the exporter and fuses shape arithmetic. Parity is always measured on the
simplified graph, so a simplifier bug shows up as a parity failure, not as a silent change.
"""

from __future__ import annotations

import contextlib
import io

import onnx

from ..errors import ExportError, MissingDependencyError, install_hint, unknown

__all__ = ["SIMPLIFIERS", "simplify"]

SIMPLIFIERS = ("onnxslim", "onnxsim", "none")


def simplify(model: onnx.ModelProto, method: str = "onnxslim") -> onnx.ModelProto:
    if method not in SIMPLIFIERS:
        raise unknown("simplifier", method, SIMPLIFIERS)
    if method == "none":
        out = model
    elif method == "onnxslim":
        try:
            import onnxslim
        except ImportError:
            raise MissingDependencyError(
                f"--simplify onnxslim needs onnxslim: {install_hint('simplify')} (or pass --simplify none)"
            ) from None
        with contextlib.redirect_stdout(io.StringIO()):
            out = onnxslim.slim(model)
    else:
        try:
            import onnxsim
        except ImportError:
            raise MissingDependencyError(
                f"--simplify onnxsim needs onnxsim: {install_hint('simplify')} (or pass --simplify none)"
            ) from None
        with contextlib.redirect_stdout(io.StringIO()):
            out, ok = onnxsim.simplify(model)
        if not ok:
            raise ExportError("onnxsim could not validate the simplified model; try --simplify onnxslim or none")
    try:
        onnx.checker.check_model(out)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the {method}-simplified model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    return out
