"""PatchMatch attention (PSAL), deterministic at inference.

Paper: N. Cherel, A. Almansa, Y. Gousseau, A. Newson, "PSAL: Patch-based Stochastic Attention Layer",
arXiv 2202.03163 (reference code github.com/ncherel/psal, CUDA only). For every query patch, PatchMatch
(Barnes et al. 2009) finds k approximate nearest key patches; attention is a softmax over those k only:

    d(i, j) = mean_{o in p x p, c} (q_c(i + o) - k_c(j + o))^2 + cost(j)        (patch distance, zero padded)
    w_im    = softmax_m(-d(i, nn_m(i)) / T)                                       (m = 1..k)
    y_i     = sum_m w_im v(nn_m(i))                                               (plain variant)
    y_i     = sum_o sum_m w_{i-o,m} v(nn_m(i-o) + o) / sum_o sum_m w_{i-o,m}[valid] (patch aggregation)

`cost(j)` is an optional per-key penalty (the inpainting model puts a large one on hole pixels so that
holes are filled from known content). Memory is O(HW k + HW C p^2): nothing of size (HW)^2 is built.

Determinism policy: the reference code draws fresh random numbers at every call and resolves races
between CUDA threads arbitrarily. Here every random number comes from `patchmatch_tables(seed, H, W, ...)`
(numpy PCG64), drawn once per feature-map size and baked into the exported graph as constants, and
candidates are merged into the sorted k-list by strict comparison in a fixed order, so exact ties keep
the earlier entry on every runtime. Same seed, same input -> same matches, on PyTorch, the reference
evaluator, ONNX Runtime and OpenVINO (up to float rounding of the distances).

Algorithm (fixed, unrolled): k distinct random matches per pixel, then `n_iters` times
  propagation -- jump-flooding steps 8, 4, 2, 1 (those < max(H, W)), each in four directions: the
  neighbour's best match, shifted back by the step, is a candidate;
  random search -- around the current best, offsets uniform in [-r, r] for r = max(H, W), halving to 1.

Paths: `reference` looks candidates up with advanced indexing and shifts maps by explicit slicing;
`export` uses Gather on a flattened (B*HW, C) matrix (ONNX Gather, rank <= 4, static rank) and Pad+Slice.
The gathers cannot be avoided: the positions looked up are data-dependent (they are the matches found).
Gather (not GatherElements) is used because GatherElements needs an index tensor as large as its output,
i.e. C p^2 int64 per candidate, where Gather needs one int64 per candidate; both are in TensorRT's ONNX
parser support table without restriction.

Shapes: x (B, C, H, W) [, mask (B, 1, H, W)] -> (B, C, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.patchmatch import BIG, PatchMatchParams, jump_steps, patchmatch_tables
from ._neighbors import neighbor_offsets, shifted_views
from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["PatchMatchAttention", "patchmatch_attend", "patchmatch_knn", "exact_knn_attend", "HOLE_COST"]

HOLE_COST = 1.0e3  # added to the distance of keys inside a hole: exp(-1e3 / T) is 0 in fp32


def _patches(t: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, HW, C p^2): every pixel's zero-padded p x p patch, in `neighbor_offsets` order."""
    b, c, h, w = t.shape
    views = torch.cat(shifted_views(t, p), dim=1) if p > 1 else t  # (B, C p^2, H, W)
    return views.reshape(b, c * p * p, h * w).transpose(1, 2)  # (B, HW, C p^2)


def _lookup(table: torch.Tensor, flat: torch.Tensor, export: bool) -> torch.Tensor:
    """Rows of `table` (B, HW, D) at flat pixel indices `flat` (B, M, HW) int64 -> (B, M, HW, D)."""
    b, n, d = table.shape
    m = flat.shape[1]
    if not export:
        batch = torch.arange(b, device=flat.device).view(b, 1, 1)
        return table[batch, flat]
    offset = (torch.arange(b, device=flat.device) * n).view(b, 1, 1)  # batch offset into the (B*HW) rows
    rows = torch.index_select(table.reshape(b * n, d), 0, (flat + offset).reshape(-1))  # (B*M*HW, D): Gather
    return rows.reshape(b, m, n, d)  # (B, M, HW, D)


def _shift(t: torch.Tensor, dy: int, dx: int, fill: float, export: bool) -> torch.Tensor:
    """out[..., y, x] = t[..., y + dy, x + dx], `fill` outside the map. t: (B, M, H, W)."""
    h, w = t.shape[-2:]
    if export:
        r = max(abs(dy), abs(dx))
        padded = F.pad(t, (r, r, r, r), value=fill)  # (B, M, H+2r, W+2r)
        return padded[:, :, r + dy : r + dy + h, r + dx : r + dx + w]
    out = torch.full_like(t, fill)
    if abs(dy) >= h or abs(dx) >= w:
        return out  # every source position is outside the map (and negative slice ends would wrap)
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[:, :, yd, xd] = t[:, :, ys, xs]
    return out


def _merge(state: tuple[torch.Tensor, torch.Tensor, torch.Tensor], cd: torch.Tensor, cy: torch.Tensor,
           cx: torch.Tensor, w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Merge M candidates (B, M, HW) into the sorted k-list (B, k, HW) of (distance, y, x).

    A match that appears earlier in [list, candidates] is dropped (its distance becomes BIG); the k best
    remain, ordered as a stable sort would order them (equal distances keep list order). The selection is
    written with comparisons and one-hot sums, not TopK + GatherElements: it is exact, needs no tie-breaking
    convention from the runtime, and stays rank-4. Cost O((k+M)^2 HW), small for k + M <= ~12.
    """
    d, y, x = (torch.cat(p, dim=1) for p in zip(state, (cd, cy, cx)))  # (B, m, HW), m = k + M
    kk, m = state[0].shape[1], d.shape[1]
    first = torch.ones(m, m, dtype=d.dtype, device=d.device).triu(1).view(1, m, m, 1)  # [i, j] = 1 if i < j
    flat = y * w + x  # (B, m, HW), exact integers in float32
    same = (flat.unsqueeze(2) == flat.unsqueeze(1)).to(d.dtype)  # (B, m, m, HW): [i, j] entries i, j equal
    dup = (same * first).sum(dim=1) > 0  # (B, m, HW): j repeats an earlier entry
    d = torch.where(dup, torch.full_like(d, BIG), d)
    di, dj = d.unsqueeze(2), d.unsqueeze(1)  # (B, m, 1, HW), (B, 1, m, HW)
    before = (di < dj).to(d.dtype) + (di == dj).to(d.dtype) * first  # (B, m, m, HW): i sorts before j
    rank = before.sum(dim=1)  # (B, m, HW): a permutation of 0..m-1 along dim 1
    slots = torch.arange(kk, dtype=d.dtype, device=d.device).view(1, 1, kk, 1)
    onehot = (rank.unsqueeze(2) == slots).to(d.dtype)  # (B, m, k, HW)
    return tuple((onehot * t.unsqueeze(2)).sum(dim=1) for t in (d, y, x))  # (B, k, HW) each, exact


def patchmatch_knn(q: torch.Tensor, k: torch.Tensor, cost: torch.Tensor, params: PatchMatchParams,
                   export: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PatchMatch k-NN field. q, k: (B, Cm, H, W); cost: (B, 1, H, W).

    Returns the sorted (distance, y, x) lists, each (B, knn, H*W); y and x are float maps holding integers.
    """
    b, _, h, w = (int(s) for s in q.shape)  # static: the random tables are drawn for this size
    n, kk = h * w, params.knn
    tables = patchmatch_tables(params.seed, h, w, kk, params.n_iters)
    qp = _patches(q, params.patch_size)  # (B, HW, D)
    kp = torch.cat([_patches(k, params.patch_size), cost.reshape(b, 1, n).transpose(1, 2)], dim=2)  # (B, HW, D+1)
    dim = qp.shape[2]

    def distance(cy: torch.Tensor, cx: torch.Tensor) -> torch.Tensor:
        # (B, M, HW) candidate coordinates -> (B, M, HW) patch distances
        flat = (cy * w + cx).to(torch.int64)
        rows = _lookup(kp, flat, export)  # (B, M, HW, D+1)
        diff = rows[..., :dim] - qp.unsqueeze(1)  # (B, M, HW, D)
        return (diff * diff).mean(dim=3) + rows[..., dim]

    def insert_all(state, cy, cx):
        return _merge(state, distance(cy, cx), cy, cx, w)

    init = torch.tensor(tables["init"], device=q.device)  # (2, k, H, W)
    iy = init[0].reshape(1, kk, n).expand(b, kk, n)
    ix = init[1].reshape(1, kk, n).expand(b, kk, n)
    state = (torch.full_like(iy, BIG), torch.full_like(iy, -1.0), torch.full_like(ix, -1.0))
    state = insert_all(state, iy, ix)
    search = torch.tensor(tables["search"], device=q.device)  # (n_iters, radii, 2, H, W)
    for it in range(params.n_iters):
        for s in jump_steps(h, w):
            cys, cxs = [], []
            best_y = state[1][:, :1].reshape(b, 1, h, w)
            best_x = state[2][:, :1].reshape(b, 1, h, w)
            for dy, dx in ((-s, 0), (s, 0), (0, -s), (0, s)):
                ny = _shift(best_y, dy, dx, -1.0, export)  # neighbour's best match, -1 outside the map
                nx = _shift(best_x, dy, dx, -1.0, export)
                inside = ny >= 0
                cys.append(torch.where(inside, (ny - dy).clamp(0, h - 1), best_y))
                cxs.append(torch.where(inside, (nx - dx).clamp(0, w - 1), best_x))
            state = insert_all(state, torch.cat(cys, 1).reshape(b, 4, n), torch.cat(cxs, 1).reshape(b, 4, n))
        off = search[it]  # (radii, 2, H, W)
        r = off.shape[0]
        cy = (state[1][:, :1] + off[:, 0].reshape(1, r, n)).clamp(0, h - 1)  # (B, radii, HW)
        cx = (state[2][:, :1] + off[:, 1].reshape(1, r, n)).clamp(0, w - 1)
        state = insert_all(state, cy, cx)
    return state


def _aggregate(v: torch.Tensor, weights: torch.Tensor, y: torch.Tensor, x: torch.Tensor, p: int,
               export: bool) -> torch.Tensor:
    """Patch aggregation: every pixel averages the values its covering patches' matches put on it."""
    b, c, h, w = (int(s) for s in v.shape)
    n, kk = h * w, weights.shape[1]
    vt = v.reshape(b, c, n).transpose(1, 2)  # (B, HW, C)
    acc = torch.zeros(b, n, c, dtype=v.dtype, device=v.device)
    norm = torch.zeros(b, n, 1, dtype=v.dtype, device=v.device)
    w4, y4, x4 = (t.reshape(b, kk, h, w) for t in (weights, y, x))
    for oy, ox in neighbor_offsets(p):
        # the patch centred at i - o covers i at its offset o: its match m lends v(nn_m(i - o) + o)
        sw = _shift(w4, -oy, -ox, 0.0, export)  # (B, k, H, W), 0 where i - o is outside the map
        sy = _shift(y4, -oy, -ox, 0.0, export) + oy
        sx = _shift(x4, -oy, -ox, 0.0, export) + ox
        valid = (sy >= 0) & (sy <= h - 1) & (sx >= 0) & (sx <= w - 1)
        sw = torch.where(valid, sw, torch.zeros_like(sw)).reshape(b, kk, n)
        flat = (sy.clamp(0, h - 1) * w + sx.clamp(0, w - 1)).to(torch.int64).reshape(b, kk, n)
        vals = _lookup(vt, flat, export)  # (B, k, HW, C)
        acc = acc + (vals * sw.unsqueeze(3)).sum(dim=1)
        norm = norm + sw.sum(dim=1).unsqueeze(2)
    return (acc / norm).transpose(1, 2).reshape(b, c, h, w)  # (B, C, H, W); norm >= w of the centre patch > 0


def patchmatch_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cost: torch.Tensor,
                      params: PatchMatchParams, export: bool = True) -> torch.Tensor:
    """PSAL attention: q, k (B, Cm, H, W), v (B, C, H, W), cost (B, 1, H, W) -> (B, C, H, W)."""
    b, c, h, w = (int(s) for s in v.shape)
    d, y, x = patchmatch_knn(q, k, cost, params, export)
    weights = torch.softmax(-d / params.temperature, dim=1)  # (B, k, HW)
    if params.aggregate:
        return _aggregate(v, weights, y, x, params.patch_size, export)
    flat = (y * w + x).to(torch.int64)
    vals = _lookup(v.reshape(b, c, h * w).transpose(1, 2), flat, export)  # (B, k, HW, C)
    out = (vals * weights.unsqueeze(3)).sum(dim=1)  # (B, HW, C)
    return out.transpose(1, 2).reshape(b, c, h, w)


def exact_knn_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cost: torch.Tensor,
                     params: PatchMatchParams) -> tuple[torch.Tensor, torch.Tensor]:
    """The oracle: exact k-NN patch attention (MatMul + TopK + GatherElements), O((HW)^2) memory.

    Returns (output (B, C, H, W), flat indices of the k nearest keys (B, HW, k)). Plain variant only.
    """
    b, c, h, w = v.shape
    qp = _patches(q, params.patch_size)  # (B, HW, D)
    kp = _patches(k, params.patch_size)  # (B, HW, D)
    dim = qp.shape[2]
    sq = (qp * qp).sum(2, keepdim=True) + (kp * kp).sum(2).unsqueeze(1) - 2 * torch.matmul(qp, kp.transpose(1, 2))
    dist = sq.clamp_min(0) / dim + cost.reshape(b, 1, h * w)  # (B, HW, HW)
    negd, idx = torch.topk(-dist, params.knn, dim=2)  # (B, HW, k)
    weights = torch.softmax(negd / params.temperature, dim=2)  # (B, HW, k)
    vt = v.reshape(b, c, h * w).transpose(1, 2)  # (B, HW, C)
    vals = torch.gather(vt.unsqueeze(1).expand(b, params.knn, h * w, c), 2,
                        idx.transpose(1, 2).unsqueeze(3).expand(b, params.knn, h * w, c))  # (B, k, HW, C)
    out = (vals * weights.transpose(1, 2).unsqueeze(3)).sum(1)  # (B, HW, C)
    return out.transpose(1, 2).reshape(b, c, h, w), idx


class PatchMatchAttention(DualPathModule):
    """PSAL block: q, k = 1x1 conv to `match_channels`; v = 1x1 conv; out = x + proj(PSAL(q, k, v)).

    `use_custom_op` (off by default; `edgeattn.ops.enable_custom_ops` turns it on) makes the export emit the
    attention as one `edgeattn::PatchMatchAttention` node instead of the unrolled standard-op subgraph.
    """

    def __init__(self, channels: int, match_channels: int | None = None, knn: int = 3, patch_size: int = 3,
                 n_iters: int = 5, temperature: float = 1.0, aggregate: bool = False, seed: int = 0,
                 path: Path = "export") -> None:
        super().__init__(path)
        if patch_size < 1 or patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd and >= 1, got {patch_size}")
        if knn < 1 or n_iters < 0 or temperature <= 0:
            raise ValueError(f"need knn >= 1, n_iters >= 0, temperature > 0; got {knn}, {n_iters}, {temperature}")
        cm = match_channels or max(channels // 4, 8)
        self.params = PatchMatchParams(knn=knn, patch_size=patch_size, n_iters=n_iters, temperature=temperature,
                                       aggregate=aggregate, seed=seed)
        self.query_conv = nn.Conv2d(channels, cm, 1)
        self.key_conv = nn.Conv2d(channels, cm, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.use_custom_op = False

    def _qkvc(self, x: torch.Tensor, mask: torch.Tensor | None):
        b, _, h, w = x.shape
        if h * w < self.params.knn:
            raise ValueError(f"PatchMatch needs at least knn={self.params.knn} pixels, got a {h}x{w} map")
        cost = torch.zeros_like(x[:, :1]) if mask is None else mask * HOLE_COST  # (B, 1, H, W)
        return self.query_conv(x), self.key_conv(x), self.value_conv(x), cost

    def forward_reference(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v, cost = self._qkvc(x, mask)
        return x + self.proj(patchmatch_attend(q, k, v, cost, self.params, export=False))

    def forward_export(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v, cost = self._qkvc(x, mask)
        if self.use_custom_op:
            from ..ops.patchmatch import patchmatch_op

            return x + self.proj(patchmatch_op(q, k, v, cost, self.params, patchmatch_attend))
        return x + self.proj(patchmatch_attend(q, k, v, cost, self.params, export=True))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self.params}"


@register_attention("patchmatch", paper="Cherel et al. 2022 (PSAL, arXiv 2202.03163)",
                    complexity="O(HW * (n_iters * (16 + log2 max(H,W)) * Cm p^2 + k C))", min_size=2)
def _patchmatch(channels: int, path: Path = "export") -> PatchMatchAttention:
    return PatchMatchAttention(channels, path=path)
