"""The timer lives on the device side (`edgeattn.runtimes.timer`: the TensorRT device bench uses it too); the
benchmark harness keeps importing it from here."""

from ..runtimes.timer import Timing, measure

__all__ = ["Timing", "measure"]
