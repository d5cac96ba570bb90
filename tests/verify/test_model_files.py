"""Every file a model loads is a hashed file of the bundle: ONNX external data (wherever the tensor sits: an
initializer, a Constant inside an If branch) and an OpenVINO IR's .bin are checked before any runtime opens them."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest
from onnx import external_data_helper

from edgeattn.bundle import finalize, read_manifest, write_manifest
from edgeattn.bundle.model_files import external_data, opened_files
from edgeattn.errors import IntegrityError
from edgeattn.verify import verify_bundle

from ._trust import manifest_of, one_line_error, run_verify


@pytest.fixture
def external(signed, tmp_path):
    """A copy of the small bundle whose model.onnx keeps its weights in weights.data (all hashed)."""
    folder = tmp_path / signed.name
    shutil.copytree(signed, folder)
    (folder / "bundle.sig").unlink()
    model = onnx.load(folder / "model.onnx")
    onnx.save_model(model, folder / "model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.data", size_threshold=1024)
    finalize(folder, manifest_of(folder))
    return folder


def _relocate(folder, location):
    """Point every external tensor at `location` (the bytes stay where they are: nothing may read them)."""
    model = onnx.load(folder / "model.onnx", load_external_data=False)
    for t in external_data_helper._get_all_tensors(model):
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = location
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    finalize(folder, manifest_of(folder))


def test_hashed_external_data_loads_and_passes(external):
    assert external_data(external / "model.onnx") == ["weights.data"]
    assert opened_files(external, external / "model.onnx") == ["weights.data"]
    assert verify_bundle(external, runtimes=["ort"], threads=1).verdict == "passed"


def test_unhashed_external_data_is_refused_before_loading(external):
    manifest = read_manifest(external)
    manifest["files"].pop("weights.data")
    write_manifest(external, manifest)
    err = one_line_error(run_verify(external, "--runtimes", "ort", "--quiet"))
    assert "model.onnx loads weights.data, which" in err and "does not hash" in err


@pytest.mark.parametrize("location, expected", [
    ("../weights.data", "not a path inside the bundle"),
    ("/etc/hostname", "not a path inside the bundle"),
    ("sub/../../weights.data", "not a path inside the bundle"),
    ("..\\weights.data", "not a path inside the bundle"),
    ("missing.data", "model.onnx loads missing.data"),
])
def test_external_data_outside_the_hashed_files_is_refused(location, expected, external, tmp_path):
    shutil.copyfile(external / "weights.data", tmp_path / "weights.data")  # would load, if anything followed it
    _relocate(external, location)
    assert expected in one_line_error(run_verify(external, "--runtimes", "ort", "--quiet"))


def test_external_data_inside_a_subgraph_is_found(tmp_path):
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    const = numpy_helper.from_array(np.ones((40, 40), np.float32), "c")
    branch = helper.make_graph([helper.make_node("Constant", [], ["y"], value=const)], "b", [],
                               [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    graph = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)], "g",
                              [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph)
    for i, t in enumerate(external_data_helper._get_all_tensors(model)):
        external_data_helper.set_external_data(t, location=f"deep/part{i}.bin")
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    assert external_data(tmp_path / "m.onnx") == ["deep/part0.bin", "deep/part1.bin"]


@pytest.mark.parametrize("data", [b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 10, b"\x3a\x05abc", b"\x0f"])
def test_a_broken_onnx_file_is_one_line_not_a_traceback(data, tmp_path):
    (tmp_path / "m.onnx").write_bytes(data)
    with pytest.raises(IntegrityError, match="is not a valid ONNX file"):
        external_data(tmp_path / "m.onnx")


@pytest.mark.parametrize("hashed", [True, False])
def test_serve_refuses_a_model_whose_external_data_it_would_drop(hashed, external):
    from edgeattn.errors import InvalidOptionError
    from edgeattn.serve.source import open_bundle

    if not hashed:
        manifest = read_manifest(external)
        manifest["files"].pop("weights.data")
        write_manifest(external, manifest)
    with pytest.raises(InvalidOptionError if hashed else IntegrityError) as exc:
        open_bundle(external)
    assert ("keeps tensors in weights.data" if hashed else "does not hash") in str(exc.value)


def test_openvino_ir_weights_must_be_hashed(ov_bundle, tmp_path):
    folder = tmp_path / ov_bundle.name
    shutil.copytree(ov_bundle, folder)
    manifest = read_manifest(folder)
    manifest["files"].pop("model.bin")
    write_manifest(folder, manifest)
    err = one_line_error(run_verify(folder, "--runtimes", "openvino", "--quiet"))
    assert "model.xml loads model.bin, which" in err


# --- what is verified is what runs: the runtime loads a private copy of the hashed bytes (bundle/model_copy.py) ---

def _negate_largest(model: onnx.ModelProto) -> onnx.TensorProto:
    """The model's largest float initializer, negated in place: a valid model with other outputs."""
    from onnx import numpy_helper

    init = max((t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT),
               key=lambda t: len(t.raw_data))
    init.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(init), init.name))
    return init


def _swap_onnx(folder):
    """Replace model.onnx in the bundle with a different valid model of the same inputs and outputs."""
    model = onnx.load(folder / "model.onnx")
    _negate_largest(model)
    (folder / "model.onnx").write_bytes(model.SerializeToString())


def _swap_external_data(folder):
    """Negate one float tensor's bytes inside weights.data (model.onnx itself unchanged)."""
    import numpy as np

    model = onnx.load(folder / "model.onnx", load_external_data=False)
    tensors = [t for t in external_data_helper._get_all_tensors(model)
               if t.data_location == onnx.TensorProto.EXTERNAL and t.data_type == onnx.TensorProto.FLOAT]
    info = {e.key: e.value for e in max(tensors, key=lambda t: int({e.key: e.value for e in t.external_data}
                                                                    ["length"])).external_data}
    offset, length = int(info["offset"]), int(info["length"])
    data = bytearray((folder / "weights.data").read_bytes())
    data[offset:offset + length] = (-np.frombuffer(bytes(data[offset:offset + length]), np.float32)).tobytes()
    (folder / "weights.data").write_bytes(bytes(data))


def _swap_ir_weights(folder):
    """Negate the largest f32 constant of model.bin (model.xml unchanged)."""
    import xml.etree.ElementTree as ET

    import numpy as np

    consts = [d for layer in ET.parse(folder / "model.xml").getroot().iter("layer") if layer.get("type") == "Const"
              for d in layer.iter("data") if d.get("element_type") == "f32"]
    big = max(consts, key=lambda d: int(d.get("size")))
    offset, size = int(big.get("offset")), int(big.get("size"))
    data = bytearray((folder / "model.bin").read_bytes())
    data[offset:offset + size] = (-np.frombuffer(bytes(data[offset:offset + size]), np.float32)).tobytes()
    (folder / "model.bin").write_bytes(bytes(data))


@pytest.fixture
def ov_copy(ov_bundle, copy_of):
    return copy_of(ov_bundle)


@pytest.fixture
def onnx_copy(signed, copy_of):
    return copy_of(signed)


@pytest.mark.parametrize("bundle, runtime, swap", [
    ("onnx_copy", "ort", _swap_onnx),
    ("external", "ort", _swap_external_data),
    ("ov_copy", "openvino", _swap_ir_weights),
], ids=["model.onnx", "external-data", "ir-bin"])
def test_a_file_swapped_after_the_check_is_not_what_runs(bundle, runtime, swap, request, monkeypatch):
    """The swap happens when the runtime is about to load: the old verify loaded the bundle's (swapped) files and
    FAILED; now the runtime loads the private copy of the hashed bytes, so the verdict is unchanged."""
    import stat

    import edgeattn.runtimes as runtimes

    folder = request.getfixturevalue(bundle)
    real, loaded, modes = runtimes.load_runtime, [], []

    def swap_then_load(name, path, options=None):
        swap(folder)
        loaded.append(Path(path))
        modes.append(stat.S_IMODE(Path(path).parent.stat().st_mode))
        return real(name, path, options)

    monkeypatch.setattr(runtimes, "load_runtime", swap_then_load)
    assert verify_bundle(folder, runtimes=[runtime], threads=1).verdict == "passed"
    assert loaded and all(folder not in p.parents for p in loaded)  # never the bundle's own file
    assert modes == [0o700] * len(loaded)  # the copy's folder is private: only this user can reach it
    assert not any(p.parent.exists() for p in loaded)  # and it is gone
    with pytest.raises(IntegrityError, match="changed since export"):  # the swap did happen on disk
        verify_bundle(folder, runtimes=[runtime], threads=1)


@pytest.mark.parametrize("bundle, swap", [("onnx_copy", _swap_onnx), ("external", _swap_external_data)],
                         ids=["model.onnx", "external-data"])
def test_a_file_swapped_between_the_hash_check_and_the_copy_is_refused(bundle, swap, request, monkeypatch):
    """The old verify ran the swapped file (a FAILED row, or a PASS for a quieter change); the copy is hashed as it
    is taken, so the swap is an integrity failure (exit 2), and nothing is loaded."""
    import edgeattn.runtimes as runtimes
    import edgeattn.verify.bundle as vb

    folder = request.getfixturevalue(bundle)
    real = vb.check_integrity

    def check_then_swap(*args, **kwargs):
        report = real(*args, **kwargs)
        swap(folder)
        return report

    monkeypatch.setattr(vb, "check_integrity", check_then_swap)
    monkeypatch.setattr(runtimes, "load_runtime", lambda *a, **k: pytest.fail("a runtime was started"))
    with pytest.raises(IntegrityError, match="changed after the integrity check"):
        verify_bundle(folder, runtimes=["ort"], threads=1)


def _swap_reference_outputs(folder):
    """Rewrite the first case's reference outputs with other, equally valid, arrays (same names, shapes, dtype)."""
    import numpy as np

    entry = read_manifest(folder)["reference"]["cases"][0]
    path = folder / entry["outputs"]
    with np.load(path) as data:
        arrays = {k: data[k] + 1.0 for k in data.files}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_a_reference_file_swapped_after_the_check_is_refused_not_read(onnx_copy, monkeypatch):
    """References are parsed from the bytes that were hashed: a reference file swapped after the integrity check
    (here: outputs that would turn the verdict into FAILED, or hide a wrong model) is an integrity failure, exit 2,
    and no runtime starts. The old verify read the swapped file."""
    import edgeattn.runtimes as runtimes
    import edgeattn.verify.bundle as vb

    real = vb.check_integrity

    def check_then_swap(*args, **kwargs):
        report = real(*args, **kwargs)
        _swap_reference_outputs(onnx_copy)
        return report

    monkeypatch.setattr(vb, "check_integrity", check_then_swap)
    monkeypatch.setattr(runtimes, "load_runtime", lambda *a, **k: pytest.fail("a runtime was started"))
    with pytest.raises(IntegrityError, match="changed after the integrity check"):
        verify_bundle(onnx_copy, runtimes=["ort"], threads=1)
