"""Custom op `edgeattn::EdgeAttnPatchMatch`: PSAL PatchMatch attention as one ONNX node.

Contract (also the TensorRT plugin contract: plugin name = op_type, version "1", namespace "edgeattn"):
  inputs   q (B, Cm, H, W) f32, k (B, Cm, H, W) f32, v (B, C, H, W) f32, cost (B, 1, H, W) f32
  attrs    knn:int, patch_size:int (odd), n_iters:int, temperature:float, aggregate:int (0|1), seed:int,
           plugin_version:str "1", plugin_namespace:str "edgeattn"
  output   y (B, C, H, W) f32 = PSAL attention of v (see edgeattn/nn/patchmatch.py for the equations)
The random tables are not inputs: every implementation derives them from `seed`, H and W with
`patchmatch_tables` (numpy PCG64), so a kernel in another language must reproduce that generator's stream
(or take the tables as extra constant inputs in a version 2 of the plugin).

This file holds the torch-side op (autograd.Function + TorchScript `symbolic`), the numpy reference
(`patchmatch_attention_np`, run by onnx.reference.ReferenceEvaluator, ONNX Runtime and OpenVINO alike),
the ONNX Runtime kernel (onnxruntime-extensions Python op) and the OpenVINO mapping (a Python `openvino.Op`
whose `evaluate` runs the numpy reference, created by a ConversionExtension). Vendor modules are imported
inside functions only.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch

__all__ = ["OP_TYPE", "DOMAIN", "PLUGIN_VERSION", "BIG", "PatchMatchParams", "jump_steps", "search_radii",
           "patchmatch_tables", "patchmatch_attention_np", "patchmatch_op", "reference_op", "register_ort",
           "openvino_conversion_extension"]

OP_TYPE = "EdgeAttnPatchMatch"
DOMAIN = "edgeattn"
PLUGIN_VERSION = "1"
BIG = 1.0e30  # "no match yet" distance: finite, so no +-inf constant reaches the graph


@dataclass(frozen=True)
class PatchMatchParams:
    knn: int = 3
    patch_size: int = 3
    n_iters: int = 5
    temperature: float = 1.0
    aggregate: bool = False
    seed: int = 0


def jump_steps(h: int, w: int) -> list[int]:
    """Jump-flooding propagation steps, coarse to fine, that still reach inside an H x W map."""
    return [s for s in (8, 4, 2, 1) if s < max(h, w)]


def search_radii(h: int, w: int) -> list[int]:
    """Random-search window radii: max(H, W), halving down to 1 (PatchMatch's alpha = 1/2)."""
    r, out = max(h, w), []
    while r >= 1:
        out.append(r)
        r //= 2
    return out


@functools.lru_cache(maxsize=32)
def patchmatch_tables(seed: int, h: int, w: int, knn: int, n_iters: int) -> dict[str, np.ndarray]:
    """Every random number PatchMatch uses, as float32 integer maps (read-only, cached per size).

    init   (2, knn, H, W): (y, x) of knn distinct random matches per pixel;
    search (n_iters, radii, 2, H, W): random-search offsets (dy, dx), uniform in [-r, r].
    """
    n = h * w
    if knn > n:
        raise ValueError(f"PatchMatch needs knn <= H*W, got knn={knn} for a {h}x{w} map")
    rng = np.random.default_rng(seed)
    flat = rng.integers(0, n, size=(knn, n))
    for j in range(1, knn):  # redraw clashes in a fixed order so the knn initial matches are distinct
        while True:
            clash = (flat[j][None] == flat[:j]).any(axis=0)
            if not clash.any():
                break
            flat[j, clash] = rng.integers(0, n, size=int(clash.sum()))
    init = np.stack([flat // w, flat % w]).reshape(2, knn, h, w).astype(np.float32)
    radii = search_radii(h, w)
    search = np.empty((n_iters, len(radii), 2, h, w), np.float32)
    for it in range(n_iters):
        for ri, r in enumerate(radii):
            search[it, ri] = rng.integers(-r, r + 1, size=(2, h, w))
    for arr in (init, search):
        arr.flags.writeable = False
    return {"init": init, "search": search}


# ---------------------------------------------------------------------------------------------------------
# numpy reference: the same algorithm as edgeattn.nn.patchmatch, step for step


def _neighbor_offsets(p: int) -> list[tuple[int, int]]:
    r = p // 2
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]


def _shift_np(t: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """out[..., y, x] = t[..., y + dy, x + dx], `fill` outside."""
    h, w = t.shape[-2:]
    out = np.full_like(t, fill)
    if abs(dy) >= h or abs(dx) >= w:
        return out  # every source position is outside the map
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = t[..., ys, xs]
    return out


def _patches_np(t: np.ndarray, p: int) -> np.ndarray:
    b, c, h, w = t.shape
    views = np.concatenate([_shift_np(t, dy, dx, 0.0) for dy, dx in _neighbor_offsets(p)], axis=1)
    return views.reshape(b, c * p * p, h * w).transpose(0, 2, 1)  # (B, HW, C p^2)


def _merge_np(state, cd, cy, cx, w):
    d, y, x = (np.concatenate(p, axis=1) for p in zip(state, (cd, cy, cx)))
    kk, m = state[0].shape[1], d.shape[1]
    flat = y * w + x
    same = flat[:, None] == flat[:, :, None]  # (B, k+M, k+M, HW): [i, j] = entry i equals entry j
    earlier = np.tril(np.ones((m, m), bool), -1)[None, :, :, None]
    dup = (same & earlier).any(axis=2)
    d = np.where(dup, np.float32(BIG), d).astype(np.float32)
    order = np.argsort(d, axis=1, kind="stable")[:, :kk]
    return tuple(np.take_along_axis(t, order, axis=1) for t in (d, y, x))


def _knn_np(q, k, cost, prm: PatchMatchParams):
    b, _, h, w = q.shape
    n, kk = h * w, prm.knn
    tables = patchmatch_tables(prm.seed, h, w, kk, prm.n_iters)
    qp = _patches_np(q, prm.patch_size)
    kp = np.concatenate([_patches_np(k, prm.patch_size), cost.reshape(b, 1, n).transpose(0, 2, 1)], axis=2)
    dim = qp.shape[2]
    batch = np.arange(b).reshape(b, 1, 1)

    def insert_all(state, cy, cx):
        rows = kp[batch, (cy * w + cx).astype(np.int64)]  # (B, M, HW, D+1)
        diff = rows[..., :dim] - qp[:, None]
        cd = ((diff * diff).mean(axis=3, dtype=np.float32) + rows[..., dim]).astype(np.float32)
        return _merge_np(state, cd, cy.astype(np.float32), cx.astype(np.float32), w)

    iy = np.broadcast_to(tables["init"][0].reshape(1, kk, n), (b, kk, n))
    ix = np.broadcast_to(tables["init"][1].reshape(1, kk, n), (b, kk, n))
    state = (np.full((b, kk, n), BIG, np.float32), np.full((b, kk, n), -1, np.float32),
             np.full((b, kk, n), -1, np.float32))
    state = insert_all(state, iy, ix)
    for it in range(prm.n_iters):
        for s in jump_steps(h, w):
            best_y = state[1][:, :1].reshape(b, 1, h, w)
            best_x = state[2][:, :1].reshape(b, 1, h, w)
            cys, cxs = [], []
            for dy, dx in ((-s, 0), (s, 0), (0, -s), (0, s)):
                ny, nx = _shift_np(best_y, dy, dx, -1.0), _shift_np(best_x, dy, dx, -1.0)
                inside = ny >= 0
                cys.append(np.where(inside, np.clip(ny - dy, 0, h - 1), best_y))
                cxs.append(np.where(inside, np.clip(nx - dx, 0, w - 1), best_x))
            state = insert_all(state, np.concatenate(cys, 1).reshape(b, 4, n), np.concatenate(cxs, 1).reshape(b, 4, n))
        off = tables["search"][it]
        r = off.shape[0]
        cy = np.clip(state[1][:, :1] + off[:, 0].reshape(1, r, n), 0, h - 1)
        cx = np.clip(state[2][:, :1] + off[:, 1].reshape(1, r, n), 0, w - 1)
        state = insert_all(state, cy, cx)
    return state


def _softmax_np(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def patchmatch_attention_np(q: np.ndarray, k: np.ndarray, v: np.ndarray, cost: np.ndarray,
                            prm: PatchMatchParams) -> np.ndarray:
    """numpy reference of the op: (B, Cm, H, W) x2, (B, C, H, W), (B, 1, H, W) -> (B, C, H, W) float32."""
    q, k, v, cost = (np.asarray(a, dtype=np.float32) for a in (q, k, v, cost))
    b, c, h, w = v.shape
    n = h * w
    d, y, x = _knn_np(q, k, cost, prm)
    weights = _softmax_np(-d / np.float32(prm.temperature), axis=1)  # (B, k, HW)
    vt = v.reshape(b, c, n).transpose(0, 2, 1)  # (B, HW, C)
    batch = np.arange(b).reshape(b, 1, 1)
    if not prm.aggregate:
        vals = vt[batch, (y * w + x).astype(np.int64)]  # (B, k, HW, C)
        out = (vals * weights[..., None]).sum(axis=1)
        return np.ascontiguousarray(out.transpose(0, 2, 1).reshape(b, c, h, w), dtype=np.float32)
    kk = weights.shape[1]
    acc = np.zeros((b, n, c), np.float32)
    norm = np.zeros((b, n, 1), np.float32)
    w4, y4, x4 = (t.reshape(b, kk, h, w) for t in (weights, y, x))
    for oy, ox in _neighbor_offsets(prm.patch_size):
        sw = _shift_np(w4, -oy, -ox, 0.0)
        sy = _shift_np(y4, -oy, -ox, 0.0) + oy
        sx = _shift_np(x4, -oy, -ox, 0.0) + ox
        valid = (sy >= 0) & (sy <= h - 1) & (sx >= 0) & (sx <= w - 1)
        sw = np.where(valid, sw, 0).astype(np.float32).reshape(b, kk, n)
        flat = (np.clip(sy, 0, h - 1) * w + np.clip(sx, 0, w - 1)).astype(np.int64).reshape(b, kk, n)
        acc = acc + (vt[batch, flat] * sw[..., None]).sum(axis=1)
        norm = norm + sw.sum(axis=1)[..., None]
    return np.ascontiguousarray((acc / norm).transpose(0, 2, 1).reshape(b, c, h, w), dtype=np.float32)


def _params_from_attrs(attrs: dict) -> PatchMatchParams:
    return PatchMatchParams(knn=int(attrs["knn"]), patch_size=int(attrs["patch_size"]),
                            n_iters=int(attrs["n_iters"]), temperature=float(attrs["temperature"]),
                            aggregate=bool(int(attrs["aggregate"])), seed=int(attrs["seed"]))


# ---------------------------------------------------------------------------------------------------------
# torch side: autograd.Function whose `symbolic` emits the node (TorchScript exporter, custom_opsets)


@contextlib.contextmanager
def untraced():
    """Run the body without recording it in a TorchScript trace.

    The exporter replaces the whole Function by the node `symbolic` returns, so the ops inside `forward` need
    not be recorded; recording them (thousands for PatchMatch) made the exporter's peephole pass fail with
    "Argument passed to at() was not in the map" and cost seconds of tracing.
    """
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        yield
    finally:
        torch._C._set_tracing_state(state)


class _PatchMatchFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, cost, params, impl):  # noqa: ANN001, ANN205 - autograd.Function protocol
        with untraced():
            return impl(q, k, v, cost, params, export=True)

    @staticmethod
    def symbolic(g, q, k, v, cost, params, impl):  # noqa: ANN001, ANN205
        out = g.op(f"{DOMAIN}::{OP_TYPE}", q, k, v, cost, knn_i=params.knn, patch_size_i=params.patch_size,
                   n_iters_i=params.n_iters, temperature_f=params.temperature, aggregate_i=int(params.aggregate),
                   seed_i=params.seed, plugin_version_s=PLUGIN_VERSION, plugin_namespace_s=DOMAIN)
        out.setType(v.type())
        return out


def patchmatch_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cost: torch.Tensor, params: PatchMatchParams,
                  impl) -> torch.Tensor:  # noqa: ANN001 - impl is nn.patchmatch.patchmatch_attend (no import cycle)
    """PSAL attention that exports as one `edgeattn::EdgeAttnPatchMatch` node; in PyTorch it runs `impl`."""
    return _PatchMatchFunction.apply(q, k, v, cost, params, impl)


# ---------------------------------------------------------------------------------------------------------
# runtimes


def reference_op() -> type:
    """An onnx.reference OpRun for the node (ReferenceEvaluator(model, new_ops=[...]))."""
    from onnx.reference.op_run import OpRun

    class EdgeAttnPatchMatch(OpRun):
        op_domain = DOMAIN

        def _run(self, q, k, v, cost, knn=3, patch_size=3, n_iters=5, temperature=1.0, aggregate=0, seed=0,
                 plugin_version=None, plugin_namespace=None):  # noqa: ANN001, ANN202
            attrs = dict(knn=knn, patch_size=patch_size, n_iters=n_iters, temperature=temperature,
                         aggregate=aggregate, seed=seed)
            return (patchmatch_attention_np(q, k, v, cost, _params_from_attrs(attrs)),)

    return EdgeAttnPatchMatch


@functools.lru_cache(maxsize=1)
def register_ort() -> None:
    """Define the ONNX Runtime kernel (an onnxruntime-extensions Python op); once per process."""
    from onnxruntime_extensions import PyCustomOpDef, onnx_op

    f, i, s = PyCustomOpDef.dt_float, PyCustomOpDef.dt_int64, PyCustomOpDef.dt_string

    @onnx_op(op_type=f"{DOMAIN}::{OP_TYPE}", inputs=[f, f, f, f], outputs=[f],
             attrs={"knn": i, "patch_size": i, "n_iters": i, "temperature": f, "aggregate": i, "seed": i,
                    "plugin_version": s, "plugin_namespace": s})
    def _kernel(q, k, v, cost, **attrs):  # noqa: ANN001, ANN202
        return patchmatch_attention_np(q, k, v, cost, _params_from_attrs(attrs))


def openvino_conversion_extension():  # noqa: ANN201 - openvino type, imported lazily
    """A ConversionExtension mapping the ONNX node onto a Python openvino.Op running the numpy reference."""
    from openvino.frontend.onnx import ConversionExtension

    op_class = openvino_op_class()
    names = ("knn", "patch_size", "n_iters", "temperature", "aggregate", "seed")

    def convert(node):  # noqa: ANN001, ANN202
        attrs = {}
        for name in names:
            attrs[name] = node.get_attribute(name)
        return op_class([node.get_input(j) for j in range(4)], attrs).outputs()

    return ConversionExtension(OP_TYPE, DOMAIN, convert)


@functools.lru_cache(maxsize=1)
def openvino_op_class() -> type:
    from ._openvino import make_numpy_op

    defaults = {k: (int(v) if isinstance(v, bool) else v) for k, v in asdict(PatchMatchParams()).items()}
    return make_numpy_op(OP_TYPE, out_input=2, fn=lambda ins, attrs: patchmatch_attention_np(
        *ins, _params_from_attrs(attrs)), defaults=defaults)
