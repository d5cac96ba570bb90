"""Custom op `edgeattn::EdgeAttnPatchMatch`: PSAL PatchMatch attention as one ONNX node, and its schedule.

Contract (also the TensorRT plugin contract: plugin name = op_type, version "2", namespace "edgeattn"):
  inputs   q (B, Cm, H, W) f32, k (B, Cm, H, W) f32, v (B, C, H, W) f32, mask (B, 1, H, W) f32 (1 = hole)
  attrs    knn:int, patch_size:int (odd), n_iters:int, temperature:float, aggregate:int (0|1), seed:int,
           masked:int (0: PSAL's `patchmatch.cu`, mask ignored | 1: `patchmatch_masked.cu`),
           plugin_version:str "2", plugin_namespace:str "edgeattn"
  output   y (B, C, H, W) f32 = PSAL attention of v (equations: edgeattn/nn/patchmatch.py and
           docs/patchmatch-custom-ops.md, each with the line of PSAL's code it follows)
Version 2 (this one) computes PSAL's function: summed patch distance, one softmax over all p^2 k candidate
contributions, PSAL's border band and padding, the kernel's search order and radii. Version 1 (a mean
distance, per-patch softmax, zero-padded search over the whole map) is gone.
The random tables are not inputs: every implementation derives them from `seed`, H, W, knn, n_iters and
patch_size with `patchmatch_tables` (numpy PCG64), so a kernel in another language must reproduce that
generator's stream (or take the tables as constant inputs in a later version of the plugin).

This file holds the schedule (`jump_steps`, `search_radii`, `patchmatch_tables`), the torch-side op
(autograd.Function + TorchScript `symbolic`) and the runtime hooks: onnx.reference OpRun, the ONNX Runtime
kernel (onnxruntime-extensions Python op) and the OpenVINO mapping (a Python `openvino.Op`); all three run
the numpy kernel of `_patchmatch_np.py`. Vendor modules are imported inside functions only.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch

__all__ = ["OP_TYPE", "DOMAIN", "PLUGIN_VERSION", "BIG", "PAD_COST", "PAD_SHIFT", "INIT_ATTEMPTS",
           "PatchMatchParams", "jump_steps", "search_radii", "patchmatch_tables", "check_size", "dynamo_exporting",
           "patchmatch_attention_np", "patchmatch_op", "reference_op", "register_ort",
           "openvino_conversion_extension"]

OP_TYPE = "EdgeAttnPatchMatch"
DOMAIN = "edgeattn"
PLUGIN_VERSION = "2"
BIG = 1.0e30  # distance of a rejected candidate: finite, so no +-inf constant reaches the graph
PAD_COST = 10.0  # psal_attention.py:51 `pad(cost_map, (p,p,p,p), value=10)`: cost of an out-of-image patch
PAD_SHIFT = 10.0  # psal_attention.py:52 `pad(shift_map, (p,p,p,p), value=10)`: its match, in both coordinates
INIT_ATTEMPTS = 4  # masked kernel: draws per initial match until one is valid (patchmatch_masked.cu:152-155)


@dataclass(frozen=True)
class PatchMatchParams:
    knn: int = 3  # patchmatch.h:10 `#define K 3`
    patch_size: int = 3
    n_iters: int = 5
    temperature: float = 1.0
    aggregate: bool = False
    seed: int = 0


def jump_steps(masked: bool) -> tuple[int, ...]:
    """Propagation steps in the kernel's order: 1, 2, 4, 8 (patchmatch.cu:247), 1, 2, 4 (patchmatch_masked.cu:233)."""
    return (1, 2, 4) if masked else (1, 2, 4, 8)


def search_radii(h: int, w: int) -> list[int]:
    """Random-search window radii exactly as patchmatch.cu:307-313 computes them, in float32.

    wmax = max(H, W); zmax = int(-logf(wmax) / logf(0.5)); w_z = int(wmax * 0.5^z) for z < zmax, so the
    last radius is never below 2 (e.g. 8 -> 8, 4, 2; 7 -> 7, 3; 3 -> 3).
    """
    wmax = max(h, w)
    zmax = int(np.float32(-np.log(np.float32(wmax))) / np.float32(np.log(np.float32(0.5))))
    return [int(np.float32(wmax) * np.float32(0.5) ** z) for z in range(zmax)]


def check_size(h: int, w: int, patch_size: int) -> None:
    """PSAL searches patches that lie fully inside the map: H and W must be at least the patch size."""
    if h < patch_size or w < patch_size:
        raise ValueError(f"PatchMatch with patch_size={patch_size} needs a feature map of at least "
                         f"{patch_size}x{patch_size} (PSAL matches only patches inside the map), got {h}x{w}")


@functools.lru_cache(maxsize=32)
def patchmatch_tables(seed: int, h: int, w: int, knn: int, n_iters: int, patch_size: int) -> dict[str, np.ndarray]:
    """Every random number PatchMatch uses, as float32 integer maps (read-only, cached per size).

    init   (INIT_ATTEMPTS, 2, knn, H, W): (y, x) draws inside the band [p//2, H-1-p//2] x [p//2, W-1-p//2]
           (`randint(PSZ/2, size - PSZ/2)`, patchmatch.cu:158-159); attempt 0 is the unmasked kernel's
           draw, later attempts are the masked kernel's redraws of an invalid (hole) match;
    search (n_iters, radii, 2, H, W): random-search offsets (dy, dx) uniform in [-r, r-1]
           (`randint(best - w, best + w)`, patchmatch.cu:314-315, draws in [a, b-1]: patchmatch.h:19).
    """
    check_size(h, w, patch_size)
    r = patch_size // 2
    rng = np.random.default_rng(seed)
    iy = rng.integers(r, h - r, size=(INIT_ATTEMPTS, knn, h, w))
    ix = rng.integers(r, w - r, size=(INIT_ATTEMPTS, knn, h, w))
    init = np.stack([iy, ix], axis=1).astype(np.float32)  # (A, 2, K, H, W)
    radii = search_radii(h, w)
    search = np.empty((n_iters, len(radii), 2, h, w), np.float32)
    for it in range(n_iters):
        for z, rad in enumerate(radii):
            search[it, z] = rng.integers(-rad, rad, size=(2, h, w))
    for arr in (init, search):
        arr.flags.writeable = False
    return {"init": init, "search": search}


def patchmatch_attention_np(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray, prm: PatchMatchParams,
                            masked: bool) -> np.ndarray:
    """numpy kernel of the op: (B, Cm, H, W) x2, (B, C, H, W), (B, 1, H, W) -> (B, C, H, W) float32."""
    from ._patchmatch_np import attend_np

    return attend_np(q, k, v, mask, prm, masked)


def _params_from_attrs(attrs: dict) -> tuple[PatchMatchParams, bool]:
    prm = PatchMatchParams(knn=int(attrs["knn"]), patch_size=int(attrs["patch_size"]),
                           n_iters=int(attrs["n_iters"]), temperature=float(attrs["temperature"]),
                           aggregate=bool(int(attrs["aggregate"])), seed=int(attrs["seed"]))
    return prm, bool(int(attrs["masked"]))


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


def dynamo_exporting() -> bool:
    """True while the dynamo (torch.export-based) ONNX exporter traces: it ignores `autograd.Function.symbolic`,
    so the ops emit their node through `torch.onnx.ops.symbolic` instead (the TorchScript exporter traces with
    torch.jit's tracer and uses `symbolic`)."""
    return bool(torch.onnx.is_in_onnx_export()) and not torch.jit.is_tracing()


class _PatchMatchFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, mask, params, masked, impl):  # noqa: ANN001, ANN205 - autograd.Function protocol
        with untraced():
            return impl(q, k, v, mask if masked else None, params, export=True)

    @staticmethod
    def symbolic(g, q, k, v, mask, params, masked, impl):  # noqa: ANN001, ANN205
        out = g.op(f"{DOMAIN}::{OP_TYPE}", q, k, v, mask, knn_i=params.knn, patch_size_i=params.patch_size,
                   n_iters_i=params.n_iters, temperature_f=params.temperature, aggregate_i=int(params.aggregate),
                   seed_i=params.seed, masked_i=int(masked), plugin_version_s=PLUGIN_VERSION,
                   plugin_namespace_s=DOMAIN)
        out.setType(v.type())
        return out


def patchmatch_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                  params: PatchMatchParams, impl) -> torch.Tensor:  # noqa: ANN001 - impl: nn.patchmatch.patchmatch_attend
    """PSAL attention that exports as one `edgeattn::EdgeAttnPatchMatch` node; in PyTorch it runs `impl`."""
    masked = mask is not None
    m = mask if masked else torch.zeros_like(v[:, :1])  # (B, 1, H, W): an input the unmasked kernel ignores
    if dynamo_exporting():
        attrs = {"knn": params.knn, "patch_size": params.patch_size, "n_iters": params.n_iters,
                 "temperature": float(params.temperature), "aggregate": int(params.aggregate), "seed": params.seed,
                 "masked": int(masked), "plugin_version": PLUGIN_VERSION, "plugin_namespace": DOMAIN}
        return torch.onnx.ops.symbolic(f"{DOMAIN}::{OP_TYPE}", (q, k, v, m), attrs, dtype=v.dtype, shape=v.shape,
                                       version=1)
    return _PatchMatchFunction.apply(q, k, v, m, params, masked, impl)


# ---------------------------------------------------------------------------------------------------------
# runtimes


def reference_op() -> type:
    """An onnx.reference OpRun for the node (ReferenceEvaluator(model, new_ops=[...]))."""
    from onnx.reference.op_run import OpRun

    class EdgeAttnPatchMatch(OpRun):
        op_domain = DOMAIN

        def _run(self, q, k, v, mask, knn=3, patch_size=3, n_iters=5, temperature=1.0, aggregate=0, seed=0,
                 masked=0, plugin_version=None, plugin_namespace=None):  # noqa: ANN001, ANN202
            attrs = dict(knn=knn, patch_size=patch_size, n_iters=n_iters, temperature=temperature,
                         aggregate=aggregate, seed=seed, masked=masked)
            return (patchmatch_attention_np(q, k, v, mask, *_params_from_attrs(attrs)),)

    return EdgeAttnPatchMatch


@functools.lru_cache(maxsize=1)
def register_ort() -> None:
    """Define the ONNX Runtime kernel (an onnxruntime-extensions Python op); once per process."""
    from onnxruntime_extensions import PyCustomOpDef, onnx_op

    f, i, s = PyCustomOpDef.dt_float, PyCustomOpDef.dt_int64, PyCustomOpDef.dt_string

    @onnx_op(op_type=f"{DOMAIN}::{OP_TYPE}", inputs=[f, f, f, f], outputs=[f],
             attrs={"knn": i, "patch_size": i, "n_iters": i, "temperature": f, "aggregate": i, "seed": i,
                    "masked": i, "plugin_version": s, "plugin_namespace": s})
    def _kernel(q, k, v, mask, **attrs):  # noqa: ANN001, ANN202
        return patchmatch_attention_np(q, k, v, mask, *_params_from_attrs(attrs))


_ATTRS = ("knn", "patch_size", "n_iters", "temperature", "aggregate", "seed", "masked")


def openvino_conversion_extension():  # noqa: ANN201 - openvino type, imported lazily
    """A ConversionExtension mapping the ONNX node onto a Python openvino.Op running the numpy kernel."""
    from openvino.frontend.onnx import ConversionExtension

    op_class = openvino_op_class()

    def convert(node):  # noqa: ANN001, ANN202
        attrs = {name: node.get_attribute(name) for name in _ATTRS}
        return op_class([node.get_input(j) for j in range(4)], attrs).outputs()

    return ConversionExtension(OP_TYPE, DOMAIN, convert)


@functools.lru_cache(maxsize=1)
def openvino_op_class() -> type:
    from ._openvino import make_numpy_op

    defaults = {k: (int(v) if isinstance(v, bool) else v) for k, v in asdict(PatchMatchParams()).items()}
    defaults["masked"] = 0
    return make_numpy_op(OP_TYPE, out_input=2, fn=lambda ins, attrs: patchmatch_attention_np(
        *ins, *_params_from_attrs(attrs)), defaults=defaults)
