"""The parity job works for any registered model from its spec alone (here: two-input models)."""

from __future__ import annotations

import pytest

from edgeattn.parity.runner import ParityConfig, run


@pytest.mark.parametrize("model", ["lga_flow"])  # two inputs; psal_inpaint (image + mask) costs 3x more
def test_multi_input_models(model):
    _, rows = run(ParityConfig(models=(model,), runtimes=("torch", "ort"), sizes=((32, 32),), threads=2),
                  progress=lambda _m: None)
    assert [(r.model, r.comparison.runtime, r.comparison.status) for r in rows] == [
        (model, "torch", "reference"), (model, "ort", "passed")]
