"""PatchMatch attention (PSAL), deterministic at inference, computing PSAL's function.

Paper: N. Cherel, A. Almansa, Y. Gousseau, A. Newson, "Patch-Based Stochastic Attention for Image Editing"
(PSAL), arXiv 2202.03163; reference code github.com/ncherel/psal (`src/psal_attention.py`, the CUDA kernels
`src/patchmatch.cu`, `src/patchmatch_masked.cu`, `src/patchmatch.h`). File:line references below are to
that code; docs/patchmatch-custom-ops.md lists every formula with its line.

With r = p // 2 and the band Omega = [r, H-1-r] x [r, W-1-r] (patch centres whose p x p patch lies inside):

    d(i, j) = sum_{c, o in p x p} (q_c(i + o) - k_c(j + o))^2                 (patchmatch.cu:205-219, a sum)
    searched S: i in Omega (unmasked) | i in Omega and in the hole (masked)    (cu:152,234 | masked.cu:143,220)
    valid V:    j in Omega (unmasked) | j in Omega and not in the hole         (patchmatch.h:184-208)
    for i in S: PatchMatch's k-list (nn_m(i), d_m(i)) of matches in V;
    for i not in S: d_m(i) = 0 and nn_m(i) = the initial random draw (cu:182-191) | i itself (masked.cu:173-178)
    plain:       y_i = sum_m softmax_m(-d_m(i) / T) v(nn_m(i))                 (psal_attention.py:40-41)
    aggregation: every pixel takes one softmax over all p^2 k contributions  (psal_attention.py:48-70)
        c = i + o for o in p x p; (cost, target) = (d_m(c), nn_m(c) - o) if c is inside the map,
        (PAD_COST, (PAD_SHIFT, PAD_SHIFT) - o) otherwise (:51-52); targets clamped into the map (:67-68);
        y_i = sum_{o, m} softmax_{o, m}(-cost / T) v(clamp(target))

Search (one thread per pixel in the kernel, here vectorised over pixels): k random matches (duplicates
allowed, cu:157-170), then `n_iters` times propagation -- steps 1, 2, 4, 8 (masked: 1, 2, 4), directions
(0,+1), (+1,0), (0,-1), (-1,0) (cu:231-232, 247-267): a searched neighbour's best match, shifted back, is a
candidate -- then random search -- offsets in [-w, w-1] around the best match, w from `search_radii`
(cu:300-324). A candidate is accepted iff it is valid, not already in the list and closer than the worst
entry (cu:259-264); it replaces the worst. Accepting a batch of candidates in order this way keeps the k
smallest of (list + first copies of the valid new candidates), which `_merge` computes in one step.

Determinism (the deviation from the kernel): the kernel draws from a per-pixel hash seeded by
`torch.randint` at every call (cu:62, patchmatch.h:13-20) and its propagation reads neighbours' matches
while other threads write them. Here every random number comes from `patchmatch_tables(seed, ...)` (numpy
PCG64), baked into the exported graph as constants, and propagation reads the best-match map as it was
before the propagation pass (one of the outcomes the kernel can produce: every read of the pass before any
write, as threads of one warp running in step see it). Exact ties
keep the earlier entry (the kernel's heap order decides; continuous features tie with probability 0).

Paths: `reference` uses advanced indexing and explicit slicing; `export` uses Gather on a flattened
(B*HW, D) matrix and Pad+Slice (rank <= 4, static). Both give bit-identical fields and outputs. The gathers
cannot be avoided: the positions looked up are the matches found.

Shapes: x (B, C, H, W) [, mask (B, 1, H, W), 1 = hole] -> (B, C, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.patchmatch import (BIG, INIT_ATTEMPTS, PAD_COST, PAD_SHIFT, PatchMatchParams, check_size, jump_steps,
                              patchmatch_tables)
from ._neighbors import neighbor_offsets, shifted_views
from ._paths import DualPathModule, Path
from .registry import register_attention

__all__ = ["PatchMatchAttention", "patchmatch_attend", "patchmatch_knn", "psal_output", "exact_knn_field",
           "exact_knn_attend"]

Field = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (distance, y, x), each (B, k, HW); y, x integer floats
GROUP = 4  # candidates whose patches are gathered at once (one propagation step's 4 directions)


def _patches(t: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, HW, C p^2): every pixel's p x p patch (zero outside; only band patches are used)."""
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


def _merge(d: torch.Tensor, y: torch.Tensor, x: torch.Tensor, kk: int, w: int, dedup_from: int) -> Field:
    """Keep the kk smallest of m entries (B, m, HW), in the order a stable sort gives (ties: earlier first).

    An entry j >= dedup_from whose position equals an earlier entry with a finite distance is dropped (its
    distance becomes BIG): the kernel's `!in_heap` test (patchmatch.cu:259). Entries before `dedup_from`
    (the current list, which may hold duplicates from the initial draw, cu:157-170) are kept as they are.
    Comparisons and one-hot sums, not TopK: exact, no runtime tie convention, rank 4. Cost O(m^2 HW).
    """
    m = d.shape[1]
    first = torch.ones(m, m, dtype=d.dtype, device=d.device).triu(1).view(1, m, m, 1)  # [i, j] = 1 if i < j
    if dedup_from < m:
        flat = y * w + x  # (B, m, HW), exact integers in float32
        same = (flat.unsqueeze(2) == flat.unsqueeze(1)).to(d.dtype)  # (B, m, m, HW): [i, j] entries i, j equal
        real = (d < BIG).to(d.dtype).unsqueeze(2)  # (B, m, 1, HW): entry i was a considered candidate
        newer = (torch.arange(m, device=d.device) >= dedup_from).view(1, 1, m, 1)
        dup = ((same * first * real).sum(dim=1, keepdim=True) > 0) & newer  # (B, 1, m, HW)
        d = torch.where(dup.squeeze(1), torch.full_like(d, BIG), d)
    di, dj = d.unsqueeze(2), d.unsqueeze(1)  # (B, m, 1, HW), (B, 1, m, HW)
    before = (di < dj).to(d.dtype) + (di == dj).to(d.dtype) * first  # (B, m, m, HW): i sorts before j
    rank = before.sum(dim=1)  # (B, m, HW): a permutation of 0..m-1 along dim 1
    slots = torch.arange(kk, dtype=d.dtype, device=d.device).view(1, 1, kk, 1)
    onehot = (rank.unsqueeze(2) == slots).to(d.dtype)  # (B, m, k, HW)
    return tuple((onehot * t.unsqueeze(2)).sum(dim=1) for t in (d, y, x))  # (B, k, HW) each, exact


def _in_band(y: torch.Tensor, x: torch.Tensor, h: int, w: int, r: int) -> torch.Tensor:
    """patchmatch.h:185-188 `is_in_inner_boundaries`: r <= y < H - r and r <= x < W - r."""
    return (y >= r) & (y <= h - 1 - r) & (x >= r) & (x <= w - 1 - r)


def patchmatch_knn(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None, params: PatchMatchParams,
                   export: bool = True) -> Field:
    """PSAL's k-NN field by PatchMatch. q, k: (B, Cm, H, W); mask: (B, 1, H, W) (1 = hole) or None.

    Returns (distance, y, x), each (B, knn, H*W), PSAL's `cost_map` and `shift_map` (pixels outside the
    searched set included, see the module docstring); y and x are float maps holding integers.
    """
    b, _, h, w = (int(s) for s in q.shape)  # static: the random tables are drawn for this size
    n, kk, p, r = h * w, params.knn, params.patch_size, params.patch_size // 2
    masked = mask is not None
    tables = patchmatch_tables(params.seed, h, w, kk, params.n_iters, p)
    qp = _patches(q, p)  # (B, HW, D)
    kp = _patches(k, p)  # (B, HW, D)
    yy = torch.arange(h, dtype=q.dtype, device=q.device).view(1, 1, h, 1).expand(1, 1, h, w)
    xx = torch.arange(w, dtype=q.dtype, device=q.device).view(1, 1, 1, w).expand(1, 1, h, w)
    band = _in_band(yy, xx, h, w, r)  # (1, 1, H, W)
    if masked:
        hole = mask > 0.5  # (B, 1, H, W)
        searched = band & hole  # patchmatch_masked.cu:143
        known = torch.where(hole, torch.zeros_like(mask), torch.ones_like(mask)).reshape(b, n, 1)  # (B, HW, 1)
    else:
        searched = band.expand(b, 1, h, w)  # patchmatch.cu:152

    def valid(cy: torch.Tensor, cx: torch.Tensor) -> torch.Tensor:
        ok = _in_band(cy, cx, h, w, r)  # (B, M, HW), patchmatch.h:190-193
        if masked:  # patchmatch.h:205-208: and not in the hole
            flat = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).to(torch.int64)
            ok = ok & (_lookup(known, flat, export)[..., 0] > 0.5)
        return ok

    def distance(cy: torch.Tensor, cx: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        # (B, M, HW) candidates -> (B, M, HW) summed squared patch differences (cu:205-219), BIG if not ok.
        # Gathered GROUP candidates at a time: the (B, M, HW, Cm p^2) patch block is the largest tensor.
        flat = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).to(torch.int64)
        sums = []
        for g in range(0, flat.shape[1], GROUP):
            diff = _lookup(kp, flat[:, g : g + GROUP], export) - qp.unsqueeze(1)  # (B, <=GROUP, HW, D)
            sums.append((diff * diff).sum(dim=3))
        return torch.where(ok, torch.cat(sums, dim=1), torch.full_like(cy, BIG))

    def insert(state: Field, cy: torch.Tensor, cx: torch.Tensor, ok: torch.Tensor) -> Field:
        cd = distance(cy, cx, ok)
        d, y, x = (torch.cat(t, dim=1) for t in zip(state, (cd, cy, cx)))  # (B, k + M, HW)
        return _merge(d, y, x, kk, w, dedup_from=kk)

    init = torch.tensor(tables["init"], device=q.device)  # (A, 2, k, H, W)
    first_try = 0 if not masked else INIT_ATTEMPTS - 1
    iy = init[first_try, 0].reshape(1, kk, n).expand(b, kk, n)
    ix = init[first_try, 1].reshape(1, kk, n).expand(b, kk, n)
    if masked:  # the first valid one of INIT_ATTEMPTS draws (masked.cu:152-155 redraws until valid)
        for a in range(INIT_ATTEMPTS - 2, -1, -1):
            ay, ax = init[a, 0].reshape(1, kk, n).expand(b, kk, n), init[a, 1].reshape(1, kk, n).expand(b, kk, n)
            take = valid(ay, ax)
            iy, ix = torch.where(take, ay, iy), torch.where(take, ax, ix)
    state = _merge(distance(iy, ix, valid(iy, ix)), iy, ix, kk, w, dedup_from=kk)  # init multiset, sorted
    searched_f = searched.to(q.dtype)  # (B, 1, H, W)
    search = torch.tensor(tables["search"], device=q.device)  # (n_iters, radii, 2, H, W)
    for it in range(params.n_iters):
        best_y = state[1][:, :1].reshape(b, 1, h, w)  # the map every thread reads before propagation
        best_x = state[2][:, :1].reshape(b, 1, h, w)
        cys, cxs, oks = [], [], []
        for s in jump_steps(masked):
            for dy, dx in ((0, s), (s, 0), (0, -s), (-s, 0)):  # cu:231-232, dis/djs
                nb = _shift(searched_f, dy, dx, 0.0, export) > 0.5  # neighbour searched (cu:252)
                cys.append(_shift(best_y, dy, dx, 0.0, export) - dy)  # cu:256-257
                cxs.append(_shift(best_x, dy, dx, 0.0, export) - dx)
                oks.append(nb)
        cy = torch.cat(cys, 1).reshape(b, len(cys), n)  # (B, 4 steps, HW)
        cx = torch.cat(cxs, 1).reshape(b, len(cxs), n)
        state = insert(state, cy, cx, torch.cat(oks, 1).reshape(b, len(oks), n) & valid(cy, cx))
        off = search[it]  # (radii, 2, H, W)
        z = off.shape[0]
        cy = state[1][:, :1] + off[:, 0].reshape(1, z, n)  # (B, radii, HW), cu:301-315, no clamp
        cx = state[2][:, :1] + off[:, 1].reshape(1, z, n)
        state = insert(state, cy, cx, valid(cy, cx))
    # pixels outside the searched set: cost 0, the first random draw (cu:186-190) or themselves (masked.cu:175-177)
    s_flat = searched.reshape(b, 1, n)
    if masked:
        uy, ux = yy.reshape(1, 1, n).expand(b, kk, n), xx.reshape(1, 1, n).expand(b, kk, n)
    else:
        uy, ux = init[0, 0].reshape(1, kk, n), init[0, 1].reshape(1, kk, n)
    d = torch.where(s_flat, state[0], torch.zeros_like(state[0]))
    return d, torch.where(s_flat, state[1], uy), torch.where(s_flat, state[2], ux)


def psal_output(v: torch.Tensor, field: Field, params: PatchMatchParams, export: bool = True) -> torch.Tensor:
    """PSAL's attention output from a k-NN field (psal_attention.py:38-70). v: (B, C, H, W) -> (B, C, H, W)."""
    b, c, h, w = (int(s) for s in v.shape)
    n, t = h * w, params.temperature
    d, y, x = field
    kk = d.shape[1]
    vt = v.reshape(b, c, n).transpose(1, 2)  # (B, HW, C)
    if not params.aggregate:
        weights = torch.softmax(-d / t, dim=1)  # (B, k, HW), psal_attention.py:40
        vals = _lookup(vt, (y * w + x).to(torch.int64), export)  # (B, k, HW, C)
        out = (vals * weights.unsqueeze(3)).sum(dim=1)  # (B, HW, C), :41
        return out.transpose(1, 2).reshape(b, c, h, w)
    d4, y4, x4 = (f.reshape(b, kk, h, w) for f in (d, y, x))
    offsets = neighbor_offsets(params.patch_size)  # (oy, ox) = patch centre - pixel, PSAL's (di - p, dj - p)
    logits, flats = [], []
    for oy, ox in offsets:
        cost = _shift(d4, oy, ox, PAD_COST, export)  # (B, k, H, W): d(i + o), PAD_COST outside (:51, :62)
        ty = (_shift(y4, oy, ox, PAD_SHIFT, export) - oy).clamp(0, h - 1)  # nn(i + o) - o, clamped (:63, :67)
        tx = (_shift(x4, oy, ox, PAD_SHIFT, export) - ox).clamp(0, w - 1)  # (:64, :68)
        logits.append(-cost / t)
        flats.append((ty * w + tx).to(torch.int64).reshape(b, kk, n))
    weights = torch.softmax(torch.cat(logits, dim=1), dim=1).reshape(b, len(offsets) * kk, n)  # (B, p^2 k, HW), :66
    out = torch.zeros(b, n, c, dtype=v.dtype, device=v.device)
    for j, flat in enumerate(flats):  # :70, one offset's k targets at a time (memory O(k HW C))
        vals = _lookup(vt, flat, export)  # (B, k, HW, C)
        out = out + (vals * weights[:, j * kk : (j + 1) * kk].unsqueeze(3)).sum(dim=1)
    return out.transpose(1, 2).reshape(b, c, h, w)  # (B, C, H, W)


def patchmatch_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                      params: PatchMatchParams, export: bool = True) -> torch.Tensor:
    """PSAL attention: q, k (B, Cm, H, W), v (B, C, H, W), mask (B, 1, H, W) or None -> (B, C, H, W)."""
    return psal_output(v, patchmatch_knn(q, k, mask, params, export), params, export)


def exact_knn_field(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None, params: PatchMatchParams) -> Field:
    """The oracle: PSAL's field with the exact k nearest valid matches of every searched pixel.

    MatMul + TopK, O((HW)^2) memory, small maps only. Pixels outside the searched set get what the kernel
    gives them (see `patchmatch_knn`); their draws come from the same seeded table.
    """
    b, _, h, w = (int(s) for s in q.shape)
    n, kk, p, r = h * w, params.knn, params.patch_size, params.patch_size // 2
    qp, kp = _patches(q, p), _patches(k, p)  # (B, HW, D)
    sq = (qp * qp).sum(2, keepdim=True) + (kp * kp).sum(2).unsqueeze(1) - 2 * torch.matmul(qp, kp.transpose(1, 2))
    yy = torch.arange(h, dtype=q.dtype, device=q.device).view(h, 1).expand(h, w).reshape(1, 1, n)
    xx = torch.arange(w, dtype=q.dtype, device=q.device).view(1, w).expand(h, w).reshape(1, 1, n)
    band = _in_band(yy, xx, h, w, r)  # (1, 1, HW)
    valid = band if mask is None else band & (mask.reshape(b, 1, n) < 0.5)  # (B, 1, HW) over keys
    dist = torch.where(valid, sq.clamp_min(0), torch.full_like(sq, BIG))  # (B, HW, HW)
    negd, idx = torch.topk(-dist, kk, dim=2)  # (B, HW, k), sorted ascending distance
    d, y, x = -negd.transpose(1, 2), (idx // w).to(q.dtype).transpose(1, 2), (idx % w).to(q.dtype).transpose(1, 2)
    searched = band.reshape(1, 1, n) if mask is None else band & (mask.reshape(b, 1, n) > 0.5)
    if mask is None:
        init = torch.tensor(patchmatch_tables(params.seed, h, w, kk, params.n_iters, p)["init"][0], device=q.device)
        uy, ux = init[0].reshape(1, kk, n), init[1].reshape(1, kk, n)
    else:
        uy, ux = yy.expand(b, kk, n), xx.expand(b, kk, n)
    return (torch.where(searched, d, torch.zeros_like(d)), torch.where(searched, y, uy),
            torch.where(searched, x, ux))


def exact_knn_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                     params: PatchMatchParams) -> torch.Tensor:
    """PSAL's output on the exact field (the oracle; reference path)."""
    return psal_output(v, exact_knn_field(q, k, mask, params), params, export=False)


class PatchMatchAttention(DualPathModule):
    """PSAL block: q, k = 1x1 conv to `match_channels`; v = 1x1 conv; out = x + proj(PSAL(q, k, v)).

    Without a mask it computes `PSAttention` (patchmatch.cu); with a mask (1 = hole) `PSAttentionMasked`'s
    search (patchmatch_masked.cu: hole pixels search, known pixels map to themselves).
    `use_custom_op` (off by default; `edgeattn.ops.enable_custom_ops` turns it on) makes the export emit the
    attention as one `edgeattn::EdgeAttnPatchMatch` node instead of the unrolled standard-op subgraph.
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

    def custom_op_module(self) -> nn.Module:
        """Export as one `edgeattn::EdgeAttnPatchMatch` node: the layer switches its own flag and stays in place
        (`edgeattn.ops.enable_custom_ops` asks each layer for its custom-op module)."""
        self.use_custom_op = True
        return self

    def _qkv(self, x: torch.Tensor):
        check_size(int(x.shape[2]), int(x.shape[3]), self.params.patch_size)
        return self.query_conv(x), self.key_conv(x), self.value_conv(x)

    def forward_reference(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self._qkv(x)
        return x + self.proj(patchmatch_attend(q, k, v, mask, self.params, export=False))

    def forward_export(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self._qkv(x)
        if self.use_custom_op:
            from ..ops.patchmatch import patchmatch_op

            return x + self.proj(patchmatch_op(q, k, v, mask, self.params, patchmatch_attend))
        return x + self.proj(patchmatch_attend(q, k, v, mask, self.params, export=True))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self.params}"


@register_attention("patchmatch", paper="Cherel et al. 2022 (PSAL, arXiv 2202.03163)",
                    complexity="O(HW * n_iters * (16 + log2 max(H,W)) * Cm p^2 + HW p^2 k C)", min_size=3)
def _patchmatch(channels: int, path: Path = "export") -> PatchMatchAttention:
    return PatchMatchAttention(channels, path=path)
