"""trt_check: which saved reference cases fit an engine's profile, and its behaviour without TensorRT."""

import numpy as np
import pytest

from edgeattn.export import trt_check
from edgeattn.export.tensorrt import TrtRecipe, write_recipe
from edgeattn.parity.reference_io import Reference, ReferenceCase, save_reference
from edgeattn.runtimes import runtime_class


def _case(b, h, w):
    return ReferenceCase(inputs={"image": np.zeros((b, 3, h, w), np.float32)}, output=np.zeros((b, 19, h, w)))


def _reference():
    ref = Reference(seed=0, batch=1)
    ref.cases = {("lga_mobilenet", "64x64"): _case(1, 64, 64), ("lga_mobilenet", "128x96"): _case(1, 128, 96),
                 ("other_model", "64x64"): _case(1, 64, 64)}
    return ref


def _recipe(**kw):
    base = dict(input_names=("image",), channels=(3,), batch=1, size=(64, 64), model="lga_mobilenet")
    return TrtRecipe(**{**base, **kw})


def test_static_engine_takes_only_its_own_shape():
    assert trt_check.usable_cases(_recipe(), _reference()) == ["64x64"]
    assert trt_check.usable_cases(_recipe(batch=2), _reference()) == []


def test_dynamic_engine_takes_every_shape_inside_its_profile():
    assert trt_check.usable_cases(_recipe(dynamic=True, min_size=(32, 32)), _reference()) == ["128x96", "64x64"]
    narrow = _recipe(dynamic=True, min_size=(32, 32), max_size=(96, 96))
    assert trt_check.usable_cases(narrow, _reference()) == ["64x64"]


def test_cli_exit_2_with_one_line(tmp_path, capsys):
    ref_path = save_reference(_reference(), tmp_path / "ref.npz")
    write_recipe(_recipe(batch=2), tmp_path)
    assert trt_check.main([str(tmp_path), "--reference", str(ref_path)]) == 2
    assert "no case for lga_mobilenet" in capsys.readouterr().err
    write_recipe(_recipe(), tmp_path)
    if runtime_class("tensorrt").available()[0]:
        pytest.skip("TensorRT is present: the device tests cover loading the engine")
    assert trt_check.main([str(tmp_path), "--reference", str(ref_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgeattn.export.trt_check: error:") and "TensorRT" in err and err.count("\n") == 1
