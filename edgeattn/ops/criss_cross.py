"""Custom op `edgeattn::EdgeAttnCrissCross`: one criss-cross attention pass (CCNet) as one ONNX node.

Semantics (Huang et al., ICCV 2019, eq. (1)-(2); the same as `edgeattn.nn.criss_cross`): for pixel u,
energies e_{u,i} = q_u . k_i over the H + W - 1 pixels i of u's column and row (the centre counted once:
the column's diagonal is excluded), A_u = softmax_i(e_u), y_u = sum_i A_{u,i} v_i. The residual
(gamma * y + x), the 1x1 convs (exported as one MatMul over the planar map) and the recurrence stay outside
the node, in standard ops.

Contract (also the TensorRT plugin contract: plugin name = op_type, version "1", namespace "edgeattn"):
  inputs   q (B, C', H, W) f32, k (B, C', H, W) f32, v (B, C, H, W) f32
  attrs    plugin_version:str "1", plugin_namespace:str "edgeattn"
  output   y (B, C, H, W) f32
This file holds the torch-side op, its TorchScript lowering, the numpy reference, the ONNX Runtime kernel
(onnxruntime-extensions Python op: ONNX Runtime's wheel has no C/C++ headers, so no compiled kernel can be
built against it here), the OpenVINO mappings (native-op decomposition, `criss_cross_openvino.py`, used when
an ONNX file is read; a Python openvino.Op running the numpy reference for IRs that hold the node)
and `CrissCrossOpAttention`, which runs an `nn.criss_cross.CrissCrossAttention`'s own parameters through
the op (same state dict), so `enable_custom_ops` can swap it in without touching that module's code.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from .patchmatch import dynamo_exporting, untraced

__all__ = ["OP_TYPE", "DOMAIN", "PLUGIN_VERSION", "criss_cross_np", "criss_cross_np_fast", "criss_cross_torch",
           "criss_cross_op",
           "CrissCrossOpAttention", "reference_op", "register_ort", "openvino_conversion_extension",
           "openvino_python_conversion_extension"]

OP_TYPE = "EdgeAttnCrissCross"
DOMAIN = "edgeattn"
PLUGIN_VERSION = "1"


def criss_cross_np(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numpy reference: q, k (B, C', H, W), v (B, C, H, W) -> (B, C, H, W) float32."""
    q, k, v = (np.asarray(a, dtype=np.float32) for a in (q, k, v))
    h = q.shape[2]
    qh, kh, vh = (a.transpose(0, 2, 3, 1) for a in (q, k, v))  # (B, H, W, C)
    e_row = qh @ kh.transpose(0, 1, 3, 2)  # (B, H, W, W)
    e_col = qh.transpose(0, 2, 1, 3) @ kh.transpose(0, 2, 3, 1)  # (B, W, H, H)
    e_col = np.where(np.eye(h, dtype=bool), -np.inf, e_col).transpose(0, 2, 1, 3)  # (B, H, W, H): centre once
    e = np.concatenate([e_col, e_row], axis=3)  # (B, H, W, H+W)
    a = np.exp(e - e.max(axis=3, keepdims=True))
    a /= a.sum(axis=3, keepdims=True)
    out_row = a[..., h:] @ vh  # (B, H, W, C)
    out_col = (a[..., :h].transpose(0, 2, 1, 3) @ vh.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)  # (B, H, W, C)
    return np.ascontiguousarray((out_row + out_col).transpose(0, 3, 1, 2), dtype=np.float32)


def criss_cross_np_fast(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The kernel ONNX Runtime runs: `criss_cross_np`'s function with the export path's formulation (split
    softmax with a shared maximum, normalised after the aggregation), which never concatenates, transposes or
    slices the (B, H, W, H+W) attention tensor and so moves about half the memory."""
    q, k, v = (np.asarray(a, dtype=np.float32) for a in (q, k, v))
    h = q.shape[2]
    qh, kh, vh = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in (q, k, v))  # (B, H, W, C)
    e_row = qh @ kh.transpose(0, 1, 3, 2)  # (B, H, W, W)
    e_col = qh.transpose(0, 2, 1, 3) @ kh.transpose(0, 2, 3, 1)  # (B, W, H, H)
    e_col[..., np.arange(h), np.arange(h)] = -np.inf  # centre once
    m = np.maximum(e_row.max(axis=3, keepdims=True), e_col.max(axis=3, keepdims=True).transpose(0, 2, 1, 3))
    np.exp(e_row - m, out=e_row)
    np.exp(e_col - m.transpose(0, 2, 1, 3), out=e_col)
    den = e_row.sum(axis=3, keepdims=True) + e_col.sum(axis=3, keepdims=True).transpose(0, 2, 1, 3)
    out = e_row @ vh + (e_col @ vh.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)  # (B, H, W, C)
    out /= den
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


def criss_cross_torch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The same computation in PyTorch (what the op computes when the graph runs in PyTorch)."""
    h = q.shape[2]
    qh, kh, vh = (a.permute(0, 2, 3, 1) for a in (q, k, v))  # (B, H, W, C)
    e_row = torch.matmul(qh, kh.transpose(2, 3))  # (B, H, W, W)
    e_col = torch.matmul(qh.transpose(1, 2), kh.permute(0, 2, 3, 1))  # (B, W, H, H)
    eye = torch.eye(h, dtype=torch.bool, device=q.device)
    e_col = e_col.masked_fill(eye, float("-inf")).transpose(1, 2)  # (B, H, W, H)
    a = torch.softmax(torch.cat([e_col, e_row], dim=3), dim=3)  # (B, H, W, H+W)
    out_row = torch.matmul(a[..., h:], vh)  # (B, H, W, C)
    out_col = torch.matmul(a[..., :h].transpose(1, 2), vh.transpose(1, 2)).transpose(1, 2)  # (B, H, W, C)
    return (out_row + out_col).permute(0, 3, 1, 2)  # (B, C, H, W)


class _CrissCrossFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v):  # noqa: ANN001, ANN205 - autograd.Function protocol
        with untraced():
            return criss_cross_torch(q, k, v)

    @staticmethod
    def symbolic(g, q, k, v):  # noqa: ANN001, ANN205
        out = g.op(f"{DOMAIN}::{OP_TYPE}", q, k, v, plugin_version_s=PLUGIN_VERSION, plugin_namespace_s=DOMAIN)
        out.setType(v.type())
        return out


def criss_cross_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """One criss-cross pass that exports as one `edgeattn::EdgeAttnCrissCross` node (either exporter)."""
    if dynamo_exporting():
        return torch.onnx.ops.symbolic(f"{DOMAIN}::{OP_TYPE}", (q, k, v),
                                       {"plugin_version": PLUGIN_VERSION, "plugin_namespace": DOMAIN},
                                       dtype=v.dtype, shape=v.shape, version=1)
    return _CrissCrossFunction.apply(q, k, v)


class CrissCrossOpAttention(nn.Module):
    """RCCA through the custom op, on the parameters of an existing `CrissCrossAttention` (shared, not copied).

    Submodule and parameter names are CCNet's (query_conv, key_conv, value_conv, gamma), so the state dict
    is the wrapped module's.
    """

    def __init__(self, source: nn.Module) -> None:
        super().__init__()
        self.recurrence = int(source.recurrence)
        self.query_conv, self.key_conv, self.value_conv = source.query_conv, source.key_conv, source.value_conv
        self.gamma = source.gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        projection = self._projection()
        for _ in range(self.recurrence):  # shared weights, R passes
            if projection is None:
                q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
            else:
                q, k, v = _project(x, *projection)
            x = self.gamma * criss_cross_op(q, k, v) + x
        return x

    def _projection(self) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]] | None:
        """The three 1x1 convs as one (C' + C' + C, C) weight and its bias, or None when a conv is not a plain
        1x1 conv (then they run as convs). One GEMM over the (B, C, H*W) map: a runtime keeps it, and the op's
        inputs, in the planar layout the op takes, where three 1x1 Convs pick a channels-last layout and every
        pass pays a reorder of x and of q, k and v (OpenVINO's CPU plugin; docs/native-kernels.md has the
        figures, from bench/native_goals.py)."""
        convs = (self.query_conv, self.key_conv, self.value_conv)
        if not all(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.stride == (1, 1)
                   and m.padding == (0, 0) and m.dilation == (1, 1) and m.groups == 1 for m in convs):
            return None
        weight = torch.cat([m.weight.flatten(1) for m in convs])
        bias = torch.cat([m.bias if m.bias is not None else m.weight.new_zeros(m.out_channels) for m in convs])
        return weight, bias, tuple(m.out_channels for m in convs)


def _project(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
             sizes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """q, k, v of x (B, C, H, W) through the stacked 1x1 conv weight (sum(sizes), C): one MatMul, then slices."""
    b, _, h, w = x.shape
    qkv = torch.matmul(weight, x.flatten(2)) + bias[:, None]  # (B, C' + C' + C, H*W)
    out, start = [], 0
    for n in sizes:
        out.append(qkv[:, start:start + n].reshape(b, n, h, w))
        start += n
    return tuple(out)


def reference_op() -> type:
    """An onnx.reference OpRun for the node."""
    from onnx.reference.op_run import OpRun

    class EdgeAttnCrissCross(OpRun):
        op_domain = DOMAIN

        def _run(self, q, k, v, plugin_version=None, plugin_namespace=None):  # noqa: ANN001, ANN202
            return (criss_cross_np(q, k, v),)

    return EdgeAttnCrissCross


@functools.lru_cache(maxsize=1)
def register_ort() -> None:
    """Define the ONNX Runtime kernel (an onnxruntime-extensions Python op); once per process."""
    from onnxruntime_extensions import PyCustomOpDef, onnx_op

    f, s = PyCustomOpDef.dt_float, PyCustomOpDef.dt_string

    @onnx_op(op_type=f"{DOMAIN}::{OP_TYPE}", inputs=[f, f, f], outputs=[f],
             attrs={"plugin_version": s, "plugin_namespace": s})
    def _kernel(q, k, v, **attrs):  # noqa: ANN001, ANN202
        return criss_cross_np_fast(q, k, v)


def openvino_conversion_extension():  # noqa: ANN201 - openvino type, imported lazily
    """The ONNX frontend mapping: the node becomes OpenVINO native ops (`criss_cross_openvino`)."""
    from .criss_cross_openvino import openvino_decomposition_extension

    return openvino_decomposition_extension()


def openvino_python_conversion_extension():  # noqa: ANN201 - openvino type, imported lazily
    """The functional-reference mapping: the node becomes a Python openvino.Op running the numpy reference."""
    from openvino.frontend.onnx import ConversionExtension

    op_class = openvino_op_class()

    def convert(node):  # noqa: ANN001, ANN202
        return op_class([node.get_input(j) for j in range(3)], {}).outputs()

    return ConversionExtension(OP_TYPE, DOMAIN, convert)


@functools.lru_cache(maxsize=1)
def openvino_op_class() -> type:
    from ._openvino import make_numpy_op

    return make_numpy_op(OP_TYPE, out_input=2, fn=lambda ins, attrs: criss_cross_np(*ins), defaults={})
