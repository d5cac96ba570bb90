"""Malformed and forged manifests, by class: every numeric field made non-finite, every field given every wrong JSON
type, absurd values in every field verify reads, and bars raised by someone who re-hashed the bundle. Each is exit 2
with one line, or verify judges with a bar no looser than the installed tolerance table's. Every manifest edgeattn
writes validates against the published schema (docs/manifest.schema.json)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgeattn.bundle import read_manifest
from edgeattn.bundle.schema import manifest_schema
from edgeattn.errors import EdgeAttnError, IntegrityError
from edgeattn.export import ExportConfig, export
from edgeattn.verify import TOLERANCES, verify_bundle

from ._trust import forge, manifest_of, one_line_error, run_verify

ROOT = Path(__file__).resolve().parents[2]
#: the parts of a manifest that verify reads (the rest is information for people: options, tools, audit, parity)
JUDGED = ("format", "model", "task", "target", "precision", "inputs", "outputs", "weights", "files", "reference",
          "tolerances", "verdict", "runtimes")


@pytest.fixture(scope="session")
def onnx_bundle(tmp_path_factory):
    """--target onnx, dynamic, two reference cases (so both the export size and a parity size are covered)."""
    out = tmp_path_factory.mktemp("schema")
    cfg = ExportConfig(model="lga_mobilenet", input_size=(32, 64), dynamic=True, parity_sizes=((64, 32),),
                       output=out, runtimes=("ort",), threads=1)
    result = export(cfg, progress=lambda m: None, verifier=verify_bundle)
    assert result.verdict == "passed"
    return result.folder


@pytest.fixture
def bundle(onnx_bundle, tmp_path):
    dst = tmp_path / onnx_bundle.name
    shutil.copytree(onnx_bundle, dst)
    return dst


def test_published_schema_is_the_installed_one_and_a_valid_schema():
    docs = json.loads((ROOT / "docs/manifest.schema.json").read_text())
    assert docs == manifest_schema()
    jsonschema.Draft202012Validator.check_schema(docs)


@pytest.mark.parametrize("fixture", ["onnx_bundle", "ov_bundle", "trt_bundle"])
def test_every_manifest_edgeattn_writes_validates(fixture, request):
    folder = request.getfixturevalue(fixture)
    jsonschema.validate(manifest_of(folder), manifest_schema())
    read_manifest(folder)


def _paths(node, prefix=()):
    """Every (path, value) below `node`: dict keys and list indices."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i), v
            yield from _paths(v, (*prefix, i))


def _set(doc, path, value):
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _numeric(doc):
    return [p for p, v in _paths(doc) if isinstance(v, (int, float)) and not isinstance(v, bool)]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000])
def test_every_numeric_field_refuses_non_finite_and_unparseable_numbers(token, onnx_bundle, tmp_path):
    doc = manifest_of(onnx_bundle)
    paths = _numeric(doc)
    assert len(paths) > 60  # shapes, sizes, bytes, floors, tolerances, seeds, parity rows, options, audit counts
    folder = tmp_path / "b"
    folder.mkdir()
    for path in paths:
        bad = json.loads(json.dumps(doc))
        _set(bad, path, "@@SENTINEL@@")
        (folder / "manifest.json").write_text(json.dumps(bad).replace('"@@SENTINEL@@"', token))
        with pytest.raises(IntegrityError) as exc:
            read_manifest(folder)
        assert "\n" not in str(exc.value) and "manifest.json" in str(exc.value), path


WRONG = [None, True, 7, -1, 0.5, "1", "", [], {}, [1], {"x": 1}]


def _json_type(value):
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "null")


def _verify_or_one_line(folder):
    """verify's whole outcome: a result, or one EdgeAttnError line; any other exception fails the test."""
    try:
        return verify_bundle(folder, runtimes=["ort"], threads=1)
    except EdgeAttnError as exc:
        assert "\n" not in str(exc) and exc.exit_code == 2
        return None


def _bars(result):
    return {r.size: (r.tolerance, r.mean_tolerance, r.task_threshold) for r in result.rows}


def _no_looser(result, bars, why):
    """Each row's bar is the baseline's or stricter (agreement is judged `>=`: a higher threshold is stricter)."""
    assert {r.size for r in result.rows} == set(bars), why
    for r in result.rows:
        if r.status == "unavailable":  # nothing judged (e.g. model.onnx no longer listed: never loaded), not PASSED
            assert result.verdict != "passed", why
            continue
        tol, mean, task = bars[r.size]
        assert r.tolerance <= tol and r.mean_tolerance <= mean, why
        assert r.task_metric == "argmax_agreement" and r.task_threshold >= task, why


def test_every_judged_field_given_every_wrong_type_is_one_line_or_no_looser(bundle):
    doc = manifest_of(bundle)
    bars = _bars(verify_bundle(bundle, runtimes=["ort"], threads=1))
    accepted, refused = [], 0
    for path, value in list(_paths({k: doc[k] for k in JUDGED})):
        for wrong in WRONG:
            if _json_type(wrong) == _json_type(value) or (isinstance(value, dict) and wrong == {}):
                continue
            bad = json.loads(json.dumps(doc))
            _set(bad, path, wrong)
            (bundle / "manifest.json").write_text(json.dumps(bad))
            result = _verify_or_one_line(bundle)
            if result is None:
                refused += 1
                continue
            accepted.append(path)
            _no_looser(result, bars, (path, wrong))
    (bundle / "manifest.json").write_text(json.dumps(doc))
    assert refused > 500
    # what may change without a refusal is what verify does not judge by (descriptions, seeds, declared shapes) or
    # what it replaces by the table's (the task check: the bars above stayed)
    informative = {"semantics", "reason", "source", "layout", "dtype", "seed", "dynamic", "shape", "range",
                   "task_metric", "task_threshold"}
    assert all(informative & set(map(str, p)) for p in accepted), accepted


def test_every_judged_key_removed_is_one_line_or_no_looser(bundle):
    doc = manifest_of(bundle)
    bars = _bars(verify_bundle(bundle, runtimes=["ort"], threads=1))
    accepted = []
    for path, _ in list(_paths({k: doc[k] for k in JUDGED})):
        if isinstance(path[-1], int):
            continue
        bad = json.loads(json.dumps(doc))
        node = bad
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
        (bundle / "manifest.json").write_text(json.dumps(bad))
        result = _verify_or_one_line(bundle)
        if result is not None:
            accepted.append(path)
            _no_looser(result, bars, path)
    # optional keys only: descriptions, declared shapes, the other runtimes' tolerances, the stored task check
    optional = {"semantics", "reason", "source", "layout", "dtype", "seed", "dynamic", "shape", "range",
                "task_metric", "task_threshold", "floor_factor", "checkpoint", "polygraphy_inputs",
                "polygraphy_outputs", "floor", "runtimes", "fp32/openvino", "fp32/reference", "fp32/tensorrt",
                "model.onnx"}  # no longer listed: never loaded, so the verdict is NOT VERIFIED (checked above)
    assert [p for p in accepted if not optional & set(map(str, p))] == []


ABSURD = [-1, 0, 1e-300, 1e300, 10**30, 2**64]


def test_absurd_numbers_in_judged_fields_are_refused_or_never_loosen_the_bar(bundle):
    doc = manifest_of(bundle)
    bars = _bars(verify_bundle(bundle, runtimes=["ort"], threads=1))
    for path in _numeric({k: doc[k] for k in JUDGED}):
        for value in ABSURD:
            bad = json.loads(json.dumps(doc))
            _set(bad, path, value)
            (bundle / "manifest.json").write_text(json.dumps(bad))
            result = _verify_or_one_line(bundle)
            if result is not None:
                _no_looser(result, bars, (path, value))


def _shift_reference(bundle, by):
    for path in bundle.glob("reference/*/outputs.npz"):
        with np.load(path) as z:
            arrays = {k: z[k] + np.float32(by) for k in z.files}
        np.savez(path, **arrays)


@pytest.mark.parametrize("edit", [
    lambda m: m["tolerances"]["fp32/ort"].update(max_abs=1e3, mean_abs=1e3),
    lambda m: m["tolerances"]["fp32/ort"].update(floor_factor=1e6),
    lambda m: m["tolerances"]["fp32/ort"].update(task_threshold=1e-9, max_abs=1e3, mean_abs=1e3),
    lambda m: m["tolerances"]["fp32/ort"].update(task_metric="epe_px", max_abs=1e3, mean_abs=1e3),
    lambda m: m["tolerances"]["fp32/ort"].update(task_metric=None, task_threshold=None, max_abs=1.0, mean_abs=1.0),
    lambda m: [c["floor"]["logits"].update(max_abs=4e-4, mean_abs=4e-5) for c in m["reference"]["cases"]],
], ids=["tolerance", "floor-factor", "task-threshold", "task-metric", "no-task-check", "floor-under-the-cap"])
def test_a_rehashed_manifest_cannot_raise_the_bar(edit, bundle):
    _shift_reference(bundle, 0.01)  # 100x over the fp32 bar, within every raised one
    forge(bundle, edit)
    result = verify_bundle(bundle, runtimes=["ort"], threads=1)
    assert result.verdict == "failed"
    table = TOLERANCES[("fp32", "ort")]
    for r in result.rows:
        assert r.tolerance <= table.floor_cap * table.max_abs and r.task_metric == "argmax_agreement"
        assert r.task_threshold == 0.999


@pytest.mark.parametrize("floor", [{"max_abs": 1.0, "mean_abs": 1e-6}, {"max_abs": 1e-6, "mean_abs": 1.0}])
def test_a_floor_beyond_the_cap_is_refused(floor, bundle):
    forge(bundle, lambda m: [c["floor"]["logits"].update(floor) for c in m["reference"]["cases"]])
    err = one_line_error(run_verify(bundle, "--quiet"))
    assert "above what the installed tolerance table accepts" in err


def test_a_tolerance_the_table_does_not_know_is_refused(bundle):
    forge(bundle, lambda m: (m.update(precision="int8"), m["tolerances"].update({"int8/reference": {
        "max_abs": 1.0, "mean_abs": 0.1, "floor_factor": 0}})))  # the reference evaluator judges int8 as int8
    err = one_line_error(run_verify(bundle, "--runtimes", "reference", "--quiet"))
    assert "tolerances['int8/reference'] has no entry in the installed tolerance table" in err


@pytest.mark.parametrize("text, expected", [
    ('{"format": "edgeattn-bundle/1", "format": "x"}', "appears twice"),
    ("[" * 100000 + "]" * 100000, "nests too deeply"),
    ('{"a": 1e999}', "overflows"),
    ('{"a": NaN}', "NaN is not a JSON number"),
    ("\ufeff{}", "not valid JSON"),
    ("\xff\xfe", "not valid JSON"),
])
def test_unsound_json_is_one_line(text, expected, bundle):
    (bundle / "manifest.json").write_bytes(b"\xff\xfe" if text == "\xff\xfe" else text.encode())
    assert expected in one_line_error(run_verify(bundle, "--quiet"))


def test_an_oversized_manifest_is_refused_before_it_is_read(bundle):
    with open(bundle / "manifest.json", "r+b") as f:
        f.truncate(65 << 20)  # sparse: costs no disk
    assert "larger than any bundle manifest" in one_line_error(run_verify(bundle, "--quiet"))


@pytest.mark.parametrize("where", ["manifest.json", "device_files.json"])
def test_a_manifest_or_record_that_is_a_link_or_fifo_is_refused(where, bundle, tmp_path):
    target = bundle / where
    if target.exists():
        shutil.move(target, tmp_path / "real.json")
    os.symlink(tmp_path / "real.json", target)
    assert "is a symbolic link" in one_line_error(run_verify(bundle, "--quiet"))
    target.unlink()
    os.mkfifo(target)
    assert "not a regular file" in one_line_error(run_verify(bundle, "--quiet"))
