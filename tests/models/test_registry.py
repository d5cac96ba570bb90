import pytest
import torch

from edgeattn.errors import InvalidOptionError, UnknownNameError
from edgeattn.models import check_input_size, create_model, get_model_spec, list_models, register_model
from edgeattn.models._registry import _MODELS
from edgeattn.parity import make_inputs

SMALL = (64, 96)


def test_known_models_are_registered():
    assert {"lga_mobilenet", "nonlocal_mobilenet"} <= set(list_models())
    assert list_models(task="segmentation")
    assert get_model_spec("lga_mobilenet").default_size == (512, 1024)


def test_duplicate_name_raises():
    with pytest.raises(ValueError, match="already registered"):

        @register_model(task="segmentation", default_size=(64, 64))
        def lga_mobilenet():  # noqa: F811 - the point of the test
            """duplicate"""

    assert _MODELS["lga_mobilenet"].builder.__module__ == "edgeattn.models.segmentation"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError, match="Did you mean: lga_mobilenet"):
        create_model("lga_mobilnet")


def test_too_small_input_is_rejected():
    with pytest.raises(InvalidOptionError, match="too small"):
        check_input_size(get_model_spec("lga_mobilenet"), (16, 64))


@pytest.mark.parametrize("name", list_models())
def test_every_model_runs_both_paths_and_they_agree(name):
    spec = get_model_spec(name)
    feeds = {k: torch.from_numpy(v) for k, v in make_inputs(spec, 2, *SMALL).items()}
    torch.manual_seed(0)
    ref_model = create_model(name, path="reference")
    exp_model = create_model(name, path="export")
    exp_model.load_state_dict(ref_model.state_dict())
    with torch.no_grad():
        ref = ref_model(*feeds.values())
        exp = exp_model(*feeds.values())
    assert ref.shape[0] == 2 and ref.shape[-2:] == SMALL
    assert torch.isfinite(ref).all()
    assert ref.std() > 0.1, "random init must give realistic (not vanishing) outputs"
    assert (ref - exp).abs().max().item() <= 1e-4


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = create_model("lga_mobilenet").state_dict()
    torch.manual_seed(3)
    b = create_model("lga_mobilenet").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
