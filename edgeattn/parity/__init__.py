"""Parity: deterministic inputs, the tolerance table, and comparisons against PyTorch."""

from .compare import Comparison, compare, format_table, unavailable
from .inputs import make_inputs
from .tolerances import TASK_THRESHOLDS, TOLERANCES, Tolerance, tolerance_for

__all__ = ["Comparison", "compare", "format_table", "unavailable", "make_inputs", "TASK_THRESHOLDS", "TOLERANCES",
           "Tolerance", "tolerance_for"]
