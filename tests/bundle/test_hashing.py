"""The canonical weights hash: independent of the file format, sensitive to every value, dtype and name."""

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from edgeattn.bundle import hash_tree, weights_sha256


def _state():
    torch.manual_seed(0)
    return {"b.weight": torch.randn(3, 4), "a.bias": torch.randn(4), "n": torch.tensor(7, dtype=torch.int64),
            "h": torch.randn(2, dtype=torch.bfloat16)}


def test_same_weights_same_hash_whatever_the_file(tmp_path):
    state = _state()
    torch.save(state, tmp_path / "w.pt")
    save_file(state, str(tmp_path / "w.safetensors"))
    h = weights_sha256(state)
    assert weights_sha256(torch.load(tmp_path / "w.pt", weights_only=True)) == h
    assert weights_sha256(load_file(str(tmp_path / "w.safetensors"))) == h
    assert weights_sha256(dict(reversed(list(state.items())))) == h  # key order does not matter


def test_numpy_and_torch_agree_and_every_change_shows():
    state = {k: v for k, v in _state().items() if k != "h"}  # numpy has no bfloat16
    h = weights_sha256(state)
    assert weights_sha256({k: v.numpy() for k, v in state.items()}) == h
    changed = dict(state, **{"a.bias": state["a.bias"].clone()})
    changed["a.bias"][0] = torch.nextafter(changed["a.bias"][0], torch.tensor(10.0))  # one ulp
    assert weights_sha256(changed) != h
    assert weights_sha256(dict(state, **{"a.bias": state["a.bias"].double()})) != h  # dtype
    assert weights_sha256(dict(state, **{"b.weight": state["b.weight"].reshape(4, 3)})) != h  # shape
    assert weights_sha256({("c" + k if k == "n" else k): v for k, v in state.items()}) != h  # name


def test_hash_tree_lists_every_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.bin").write_bytes(b"abc")
    (tmp_path / "m.json").write_text("{}")
    tree = hash_tree(tmp_path, exclude=("m.json",))
    assert list(tree) == ["sub/x.bin"] and tree["sub/x.bin"]["bytes"] == 3
    assert tree["sub/x.bin"]["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert np.isscalar(tree["sub/x.bin"]["bytes"])
