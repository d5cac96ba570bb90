"""Verify a bundle anywhere: integrity of every file, then parity of the shipped artefact on a runtime.

numpy and one runtime; no torch. `python -m edgeattn.verify BUNDLE` or `edgeattn.verify_bundle(path)`.
The tolerance table and the comparison code live here (parity re-exports them).
"""

from .bundle import ALIASES, DEFAULT_RUNTIMES, VerifyResult, resolve_runtimes, verify_bundle
from .compare import Comparison, compare, format_table, unavailable
from ..bundle.tolerances import TOLERANCES, Tolerance, bundle_tolerances, runtime_precision, tolerance_for

__all__ = ["ALIASES", "DEFAULT_RUNTIMES", "VerifyResult", "verify_bundle", "resolve_runtimes", "Comparison",
           "compare", "format_table", "unavailable", "TOLERANCES", "Tolerance", "bundle_tolerances",
           "runtime_precision", "tolerance_for"]
