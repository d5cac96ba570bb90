import pytest
import torch
from safetensors.torch import save_file

from edgeattn.errors import CheckpointError
from edgeattn.models import create_model


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(1)
    return create_model("lga_mobilenet", depth=1).state_dict()


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_round_trip(tmp_path, state, suffix):
    path = tmp_path / f"w{suffix}"
    if suffix == ".pt":
        torch.save({"state_dict": state}, path)
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    model = create_model("lga_mobilenet", depth=1, checkpoint=path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        create_model("lga_mobilenet", checkpoint=tmp_path / "nope.pt")


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="could not be read"):
        create_model("lga_mobilenet", checkpoint=path)


def test_mismatched_keys_are_listed(tmp_path, state):
    bad = dict(state)
    bad.pop("classifier.weight")
    bad["extra.weight"] = torch.zeros(1)
    path = tmp_path / "mismatch.pt"
    torch.save(bad, path)
    with pytest.raises(CheckpointError) as info:
        create_model("lga_mobilenet", depth=1, checkpoint=path)
    msg = str(info.value)
    assert "missing keys: classifier.weight" in msg and "unexpected keys: extra.weight" in msg


def test_shape_mismatch_is_listed(tmp_path, state):
    path = tmp_path / "other_classes.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="shape mismatches: classifier"):
        create_model("lga_mobilenet", depth=1, num_classes=5, checkpoint=path)


@pytest.mark.parametrize("dtype", [torch.int32, torch.bool])
def test_integer_or_bool_weights_are_refused(tmp_path, state, dtype):
    # load_state_dict copies int32 into float parameters silently: weights in (-1, 1) became an all-zero model.
    path = tmp_path / "w.safetensors"
    save_file({k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}, str(path))
    with pytest.raises(CheckpointError, match="integer/bool tensors for floating parameters") as info:
        create_model("lga_mobilenet", depth=1, checkpoint=path)
    assert "\n" not in str(info.value) and str(dtype).removeprefix("torch.") in str(info.value)
