"""Benchmarks: latency, memory, MACs and compute efficiency per model x runtime x size, and a resolution
sweep over the attention registry. Reported, never asserted (tests check the harness, not the speed)."""

__all__: list[str] = []
