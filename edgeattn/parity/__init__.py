"""Parity: in-process comparisons against PyTorch during development.

The tolerance table and the numpy comparison live in `edgeattn.verify` (which must not import torch); they are
re-exported here for the parity CLI, bench and older imports. Deterministic inputs live in `edgeattn.data.inputs`.
"""

from ..data.inputs import make_inputs
from ..verify.compare import Comparison, compare, format_table, unavailable
from ..bundle.tolerances import TASK_THRESHOLDS, TOLERANCES, Tolerance, tolerance_for

__all__ = ["Comparison", "compare", "format_table", "unavailable", "make_inputs", "TASK_THRESHOLDS", "TOLERANCES",
           "Tolerance", "tolerance_for"]
