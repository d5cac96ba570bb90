"""Our Polygraphy JSON writer, read back by Polygraphy's own loaders (the formats `polygraphy run` reads)."""

import numpy as np
import pytest

from edgeattn.bundle.polygraphy_json import dumps_inputs, dumps_outputs, loads_inputs, loads_outputs
from edgeattn.errors import IntegrityError

polygraphy = pytest.importorskip("polygraphy",
                                 reason="polygraphy is a dev dependency: pip install -r requirements/dev.txt")


def _arrays():
    rng = np.random.default_rng(0)
    return {"image": rng.random((1, 3, 4, 5), dtype=np.float32), "mask": rng.random((1, 1, 4, 5), dtype=np.float32)}


def test_inputs_load_in_polygraphy(tmp_path):
    from polygraphy.json import load_json

    feeds = _arrays()
    path = tmp_path / "in.json"
    path.write_text(dumps_inputs(feeds))
    loaded = load_json(str(path))
    assert isinstance(loaded, list) and len(loaded) == 1
    for k, v in feeds.items():
        np.testing.assert_array_equal(loaded[0][k], v)
    assert {k: v.tobytes() for k, v in loads_inputs(path.read_text()).items()} == {k: v.tobytes() for k, v in
                                                                                   feeds.items()}


def test_outputs_load_as_run_results(tmp_path):
    from polygraphy.comparator import RunResults

    outs = {"logits": _arrays()["image"]}
    path = tmp_path / "out.json"
    path.write_text(dumps_outputs(outs))
    results = RunResults.load(str(path))
    assert list(results.keys()) == ["pytorch"]
    (it,) = results["pytorch"]
    np.testing.assert_array_equal(np.asarray(it["logits"]), outs["logits"])
    np.testing.assert_array_equal(loads_outputs(path.read_text())["logits"], outs["logits"])


BAD_ARRAY = '[{"x": {"array": "!!", "polygraphy_class": "ndarray"}}]'


@pytest.mark.parametrize("text", ["", "[]", '{"lst": 3}', BAD_ARRAY])
def test_malformed_is_an_integrity_error(text):
    with pytest.raises(IntegrityError):
        loads_inputs(text) if text.startswith("[") or not text else loads_outputs(text)
