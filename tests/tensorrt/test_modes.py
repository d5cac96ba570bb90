"""How each TensorRT version builds a recipe: 10.x weakly typed with flags where they exist, 11.x strongly typed."""

import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.tensorrt.modes import TrtVersion, build_mode, parse_version
from edgeattn.tensorrt.recipe import TrtRecipe


def _recipe(**kw):
    return TrtRecipe(**{**dict(input_names=("image",), channels=(3,), batch=1, size=(64, 64)), **kw})


@pytest.mark.parametrize("text, version", [
    ("10.3.0.30", TrtVersion(10, 3, 0)), ("10.16.1", TrtVersion(10, 16, 1)), ("11.4", TrtVersion(11, 4, 0)),
    ("100300", TrtVersion(10, 3, 0)), ("110401", TrtVersion(11, 4, 1)), ("10.13.3.9+cuda13.0", TrtVersion(10, 13, 3)),
])
def test_parse_version(text, version):
    assert parse_version(text) == version


@pytest.mark.parametrize("text, match", [
    ("8.6.2", "not handled.*JetPack 6.0 ships TensorRT 8.6"), ("10.2.0", "not handled"), ("12.0", "< 12"),
    ("banana", "cannot read a TensorRT version"),
])
def test_parse_version_refuses_unhandled(text, match):
    with pytest.raises(InvalidOptionError, match=match):
        parse_version(text)


# (precision, graph) -> (strongly typed, builder flags, trtexec flags) per major version
MATRIX = {
    ("fp32", "fp32"): {10: (False, (), ()), 11: (True, (), ())},
    ("fp16", "fp32"): {10: (False, ("FP16",), ("--fp16",)), 11: None},
    ("fp16", "fp16"): {10: (True, (), ("--stronglyTyped",)), 11: (True, (), ())},
    ("int8", "qdq"): {10: (False, ("INT8",), ("--int8",)), 11: (True, (), ())},
}


@pytest.mark.parametrize("version", ["10.3.0", "10.13.3", "10.16.0", "11.0.0", "11.4.1"])
@pytest.mark.parametrize("precision, graph", list(MATRIX))
def test_mode_matrix(version, precision, graph):
    recipe = _recipe(precision=precision, graph=graph)
    expected = MATRIX[(precision, graph)][int(version.split(".")[0])]
    if expected is None:
        with pytest.raises(InvalidOptionError, match="no FP16 builder flag"):
            build_mode(recipe, version)
        return
    mode = build_mode(recipe, version)
    assert (mode.strongly_typed, mode.builder_flags, mode.trtexec_flags) == expected
    assert version in mode.note


def test_eleven_never_gets_a_removed_flag():
    removed = {"--fp16", "--int8", "--calib", "--best", "--bf16", "--fp8", "--int4"}
    for precision, graph in MATRIX:
        if MATRIX[(precision, graph)][11] is None:
            continue
        mode = build_mode(_recipe(precision=precision, graph=graph), "11.4.0")
        assert not removed & set(mode.trtexec_flags) and mode.builder_flags == ()


def test_notes_say_what_is_deprecated():
    assert "deprecated since TensorRT 10.12" in build_mode(_recipe(precision="fp16"), "10.16.0").note
    assert "no calibration" in build_mode(_recipe(precision="int8", graph="qdq"), "10.3.0").note
