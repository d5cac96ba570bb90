"""Which ONNX nodes belong to which attention block, and which ops are attention-sensitive.

Blocks come from the node names the TorchScript exporter writes (`/<module path>/<Op>_<n>`):
- the attention scopes are the top-level modules whose name contains "attention" (`attention` in the
  segmentation and dehazing models, `context_attention` in the flow model);
- inside a scope, a submodule that the forward calls repeatedly (LGA's per-layer convs export as `edge_dw`,
  `edge_dw_1`, ...) gives a block per repetition, `<scope>.layer<n>`; a submodule called once gives its own block
  (`attention.to_latent`); functional ops (`/attention/Sigmoid_2`) belong to the block of their latest producer,
  so a layer's sigmoid, products, sums and normalising division land in that layer's block;
- everything outside the attention scopes is one row, `rest` (backbone, decoder, head).

Attention-sensitive ops are those whose output range or precision INT8 hurts most (softmax, sigmoid gates,
normalising divisions, exponentials, reductions, normalisations, activation x activation MatMuls).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import onnx

__all__ = ["SENSITIVE_OPS", "Block", "find_blocks", "attention_scopes", "is_sensitive", "sensitive_nodes",
           "resolve_names", "REST"]

SENSITIVE_OPS = frozenset({
    "Softmax", "LogSoftmax", "Sigmoid", "Div", "Reciprocal", "Exp", "Log", "Pow", "Sqrt", "Tanh", "Erf",
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceLogSumExp",
    "LayerNormalization", "InstanceNormalization", "GroupNormalization", "MatMul", "Einsum",
})
REST = "rest"
_INDEXED = re.compile(r"^(.*?)_(\d+)$")


@dataclass
class Block:
    name: str
    nodes: list[str]  # node names in graph order
    op_counts: dict[str, int]

    @property
    def attention(self) -> bool:
        return self.name != REST


def _scope(node: onnx.NodeProto) -> list[str]:
    parts = node.name.split("/")
    return [p for p in parts[1:-1] if p] if node.name.startswith("/") else []


def attention_scopes(model: onnx.ModelProto) -> list[str]:
    """Top-level module names holding attention, in graph order."""
    seen: OrderedDict[str, None] = OrderedDict()
    for n in model.graph.node:
        sc = _scope(n)
        if sc and "attention" in sc[0]:
            seen[sc[0]] = None
    return list(seen)


def is_sensitive(node: onnx.NodeProto, initializers: set[str]) -> bool:
    """An attention-sensitive op (MatMul/Einsum only when both operands are activations)."""
    if node.op_type not in SENSITIVE_OPS:
        return False
    if node.op_type in ("MatMul", "Einsum"):
        return not any(i in initializers for i in node.input)
    return True


def find_blocks(model: onnx.ModelProto) -> list[Block]:
    """Partition the graph's nodes into attention blocks (graph order) and `rest`."""
    scopes = set(attention_scopes(model))
    # Which submodule names repeat inside each scope (edge_dw, edge_dw_1, ...)?
    repeated: dict[tuple[str, str], set[int]] = {}
    for n in model.graph.node:
        sc = _scope(n)
        if len(sc) >= 2 and sc[0] in scopes:
            m = _INDEXED.match(sc[1])
            base, idx = (m.group(1), int(m.group(2))) if m else (sc[1], 0)
            repeated.setdefault((sc[0], base), set()).add(idx)
    producer_block: dict[str, tuple[int, str]] = {}  # tensor -> (position of producer, block)
    order: OrderedDict[str, Block] = OrderedDict()
    for pos, n in enumerate(model.graph.node):
        sc = _scope(n)
        if not sc or sc[0] not in scopes:
            block = REST
        elif len(sc) >= 2:
            m = _INDEXED.match(sc[1])
            base, idx = (m.group(1), int(m.group(2))) if m else (sc[1], 0)
            block = f"{sc[0]}.layer{idx}" if len(repeated[(sc[0], base)]) > 1 else f"{sc[0]}.{base}"
        else:  # a functional op of the attention module itself: the block of its latest producer
            owners = [producer_block[i] for i in n.input if i in producer_block]
            owners = [o for o in owners if o[1] != REST]
            block = max(owners)[1] if owners else f"{sc[0]}.other"
        for o in n.output:
            producer_block[o] = (pos, block)
        b = order.setdefault(block, Block(block, [], {}))
        b.nodes.append(n.name)
        b.op_counts[n.op_type] = b.op_counts.get(n.op_type, 0) + 1
    blocks = [b for b in order.values() if b.attention]
    if REST in order:
        blocks.append(order[REST])
    return blocks


def sensitive_nodes(model: onnx.ModelProto) -> list[str]:
    """Attention-sensitive ops inside attention scopes (the default float set)."""
    inits = {i.name for i in model.graph.initializer}
    scopes = set(attention_scopes(model))
    return [n.name for n in model.graph.node if _scope(n)[:1] and _scope(n)[0] in scopes and is_sensitive(n, inits)]


def resolve_names(model: onnx.ModelProto, names: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Map user `--keep-float` names (block names, node names or op types) to node names.

    Returns (node names, {user name: what it matched}); an unknown name raises InvalidOptionError with the
    blocks listed.
    """
    from ..errors import InvalidOptionError, suggest

    blocks = {b.name: b for b in find_blocks(model)}
    by_node = {n.name for n in model.graph.node}
    op_types = {n.op_type for n in model.graph.node}
    out: list[str] = []
    matched: dict[str, str] = {}
    for name in names:
        if name in blocks:
            out += blocks[name].nodes
            matched[name] = f"block ({len(blocks[name].nodes)} nodes)"
        elif name in by_node:
            out.append(name)
            matched[name] = "node"
        elif name in op_types:
            out += [n.name for n in model.graph.node if n.op_type == name]
            matched[name] = "op type"
        else:
            raise InvalidOptionError(
                f"--keep-float: {name!r} is neither a block, a node name nor an op type of this graph."
                f"{suggest(name, [*blocks, *op_types])} Blocks: {', '.join(blocks)}")
    return list(dict.fromkeys(out)), matched
