"""Attention blocks, sensitive ops and --keep-float names on a real exported graph."""

from __future__ import annotations

import pytest

from edgeattn.errors import InvalidOptionError
from edgeattn.precision.blocks import REST, find_blocks, resolve_names, sensitive_nodes
from edgeattn.precision.config import parse_keep_float


@pytest.fixture(scope="module")
def lga_graph():
    from edgeattn.data.inputs import make_inputs
    from edgeattn.export.config import ExportConfig
    from edgeattn.export.graph import export_graph
    from edgeattn.export.pipeline import _build_model
    from edgeattn.models import get_model_spec

    spec = get_model_spec("lga_mobilenet")
    model = _build_model(ExportConfig(model="lga_mobilenet")).eval()
    return export_graph(model, spec, make_inputs(spec, 1, 32, 64))


def test_lga_blocks_are_its_graph_layers(lga_graph):
    blocks = {b.name: b for b in find_blocks(lga_graph)}
    # LGA depth 4: one block per graph layer, plus the projections, plus everything else.
    assert [n for n in blocks if n != REST] == ["attention.to_latent", *(f"attention.layer{i}" for i in range(4)),
                                                 "attention.from_latent"]
    for i in range(4):
        ops = blocks[f"attention.layer{i}"].op_counts
        assert ops["Sigmoid"] == 1 and ops["Div"] == 1 and ops["Conv"] == 3  # gate, normalisation, its convs
    assert sum(len(b.nodes) for b in blocks.values()) == len(lga_graph.graph.node)  # a partition


def test_sensitive_ops_are_the_gates_and_normalisations(lga_graph):
    names = sensitive_nodes(lga_graph)
    ops = {n.name: n.op_type for n in lga_graph.graph.node}
    # per graph layer: the gate, the sum of the 9 edge weights and the normalisation by it
    assert sorted({ops[n] for n in names}) == ["Div", "ReduceSum", "Sigmoid"] and len(names) == 12
    assert all(n.startswith("/attention/") for n in names)  # the backbone's input normalisation Div is not


def test_keep_float_names(lga_graph):
    assert parse_keep_float("auto") == ("auto",) and parse_keep_float("none") == ()
    nodes, matched = resolve_names(lga_graph, ("attention.layer3", "Sigmoid"))
    assert matched["attention.layer3"].startswith("block") and matched["Sigmoid"] == "op type"
    assert len(nodes) == len(set(nodes)) > 4
    with pytest.raises(InvalidOptionError, match="Blocks: attention.to_latent"):
        resolve_names(lga_graph, ("attention.layer9",))
    with pytest.raises(InvalidOptionError):
        parse_keep_float("auto,attention.layer0")


def test_held_out_set_is_the_training_held_out_set():
    from edgeattn.precision.data import HELD_OUT_SEED
    from edgeattn.train.evaluate import HELD_OUT_SEED as TRAIN_HELD_OUT

    assert HELD_OUT_SEED == TRAIN_HELD_OUT
