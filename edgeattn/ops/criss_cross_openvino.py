"""OpenVINO kernel of `edgeattn::EdgeAttnCrissCross`: the node decomposed into OpenVINO's native ops when the
ONNX file is read (a frontend ConversionExtension), so the CPU plugin compiles it like any other subgraph
(oneDNN MatMuls, fused element-wise chains, its own threads) instead of calling back into Python.

Why a decomposition and not a compiled C++ `evaluate` (measured): the criss-cross pass is ~95%
MatMul work; a hand-written C++ kernel would have to beat oneDNN's batched GEMMs to be "never slower than
the standard-op graph", while the decomposition is the standard-op formulation itself, and the IR written
from it (model.xml) holds only native ops, so it loads in any OpenVINO (C++, OVMS) without an extension.
The Python `openvino.Op` running the numpy reference (`criss_cross.openvino_op_class`) stays registered as
an op extension: it reads IRs written before this kernel existed, and is the functional reference.

Formulation (the same as `nn.criss_cross`'s export path, on the op's (B, C, H, W) inputs): row energies
(B, H, W, W) and column energies (B, W, H, H) each in the layout its MatMul writes, -inf on the column
diagonal (Select from a shape-derived Range/Equal mask, so dynamic H works), a shared per-pixel maximum,
exp, the two sums, the two aggregations and one division. No Concat/Slice of the attention tensor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decompose_criss_cross"]


def decompose_criss_cross(q, k, v):  # noqa: ANN001, ANN201 - openvino Outputs, imported lazily
    """Native-op subgraph for one criss-cross pass: q, k (B, C', H, W), v (B, C, H, W) -> output (B, C, H, W)."""
    import openvino.opset13 as ops

    def t(x, perm):  # noqa: ANN001, ANN202
        return ops.transpose(x, ops.constant(np.array(perm, dtype=np.int64)))

    def axis(i: int):  # noqa: ANN202
        return ops.constant(np.array([i], dtype=np.int64))

    q_row, k_row, v_row = t(q, [0, 2, 3, 1]), t(k, [0, 2, 3, 1]), t(v, [0, 2, 3, 1])  # (B, H, W, .)
    q_col, k_col, v_col = t(q, [0, 3, 2, 1]), t(k, [0, 3, 2, 1]), t(v, [0, 3, 2, 1])  # (B, W, H, .)
    e_row = ops.matmul(q_row, k_row, False, True)  # (B, H, W, W)
    e_col = ops.matmul(q_col, k_col, False, True)  # (B, W, H, H)
    h = ops.gather(ops.shape_of(q), axis(2), ops.constant(np.array(0, dtype=np.int64)))  # (1,) shape value
    idx = ops.range(ops.constant(np.array(0, dtype=np.int64)), ops.squeeze(h, axis(0)),
                    ops.constant(np.array(1, dtype=np.int64)), "i64")  # (H,)
    eye = ops.equal(ops.unsqueeze(idx, axis(1)), ops.unsqueeze(idx, axis(0)))  # (H, H)
    neg_inf = ops.constant(np.array(-np.inf, dtype=np.float32))
    e_col = ops.select(eye, neg_inf, e_col)  # the centre counted once (in the row part)
    m = ops.maximum(ops.reduce_max(e_row, axis(3), True), t(ops.reduce_max(e_col, axis(3), True), [0, 2, 1, 3]))
    p_row = ops.exp(ops.subtract(e_row, m))  # (B, H, W, W)
    p_col = ops.exp(ops.subtract(e_col, t(m, [0, 2, 1, 3])))  # (B, W, H, H)
    den = ops.add(ops.reduce_sum(p_row, axis(3), True), t(ops.reduce_sum(p_col, axis(3), True), [0, 2, 1, 3]))
    out = ops.add(ops.matmul(p_row, v_row, False, False),
                  t(ops.matmul(p_col, v_col, False, False), [0, 2, 1, 3]))  # (B, H, W, C)
    return t(ops.divide(out, den), [0, 3, 1, 2])  # (B, C, H, W)


def openvino_decomposition_extension():  # noqa: ANN201 - openvino type, imported lazily
    """ConversionExtension: the ONNX node -> `decompose_criss_cross`."""
    from openvino.frontend.onnx import ConversionExtension

    from .criss_cross import DOMAIN, OP_TYPE

    def convert(node):  # noqa: ANN001, ANN202
        return decompose_criss_cross(*(node.get_input(j) for j in range(3))).outputs()

    return ConversionExtension(OP_TYPE, DOMAIN, convert)
