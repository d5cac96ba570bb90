"""A numpy transcription of PSAL (github.com/ncherel/psal), written here for the tests, in the kernel's style.

It is deliberately independent of edgeattn's vectorised code: one pixel at a time, float64 sums, the
kernel's accept rule (valid, not in the list, strictly closer than the worst entry, replaces the worst), and
PSAL's aggregation as `PSAttention.aggregate` writes it (padded maps, a loop over di, dj, one softmax over
p^2 K, clamped targets). Only the random numbers are shared: they come from edgeattn's seeded tables
(`patchmatch_tables`), whose layout is part of the op contract. Line references are to ncherel/psal.
"""

from __future__ import annotations

import numpy as np

from edgeattn.ops.patchmatch import INIT_ATTEMPTS, patchmatch_tables

PAD = 10  # psal_attention.py:51-52


def _dist(q, k, i, j, ii, jj, p):  # noqa: ANN001, ANN202 - patchmatch.cu:200-220: a sum over c and the patch
    r = p // 2
    a = q[:, i - r : i + r + 1, j - r : j + r + 1].astype(np.float64)
    b = k[:, ii - r : ii + r + 1, jj - r : jj + r + 1].astype(np.float64)
    return float(((a - b) ** 2).sum())


def _rules(h, w, p, hole):  # noqa: ANN001, ANN202
    r = p // 2

    def inner(i, j):  # patchmatch.h:185-188
        return r <= i < h - r and r <= j < w - r

    def searched(i, j):  # patchmatch.cu:152 | patchmatch_masked.cu:143
        return inner(i, j) and (hole is None or hole[i, j])

    def valid(i, j):  # patchmatch.h:190-193 | 205-208
        return inner(i, j) and (hole is None or not hole[i, j])

    return searched, valid


def psal_search(q, k, hole, knn, p, n_iters, seed):  # noqa: ANN001, ANN201
    """One image: q, k (C, H, W), hole (H, W) bool or None -> cost (K, H, W), shift (2, K, H, W)."""
    _, h, w = q.shape
    searched, valid = _rules(h, w, p, hole)
    tab = patchmatch_tables(seed, h, w, knn, n_iters, p)
    init, search = tab["init"].astype(int), tab["search"].astype(int)
    lists = {}
    cost = np.zeros((knn, h, w))
    shift = np.zeros((2, knn, h, w), int)
    for i in range(h):
        for j in range(w):
            if not searched(i, j):  # cu:182-191 random draws | masked.cu:173-178 the pixel itself; cost 0
                for m in range(knn):
                    shift[:, m, i, j] = (init[0, 0, m, i, j], init[0, 1, m, i, j]) if hole is None else (i, j)
                continue
            entries = []
            for m in range(knn):  # cu:157-170, masked.cu:148-161: redraw until valid
                for a in range(INIT_ATTEMPTS):
                    ii, jj = init[a, 0, m, i, j], init[a, 1, m, i, j]
                    if valid(ii, jj):
                        break
                d = _dist(q, k, i, j, ii, jj, p) if valid(ii, jj) else np.inf
                entries.append([d, ii, jj])
            lists[i, j] = entries

    def offer(entries, ii, jj, i, j):  # cu:259-264: valid, not in the heap, closer than the worst
        if not valid(ii, jj) or any(e[1] == ii and e[2] == jj for e in entries):
            return
        d = _dist(q, k, i, j, ii, jj, p)
        worst = max(range(knn), key=lambda m: (entries[m][0], m))
        if d < entries[worst][0]:
            entries[worst] = [d, ii, jj]

    def best(entries):  # heap[0]: the smallest distance
        return min(entries, key=lambda e: e[0])

    for it in range(n_iters):
        snap = {ij: best(e)[1:] for ij, e in lists.items()}  # propagation reads neighbours' best
        for (i, j), entries in lists.items():
            for s in (1, 2, 4, 8) if hole is None else (1, 2, 4):  # cu:247 | masked.cu:233
                for di, dj in ((0, 1), (1, 0), (0, -1), (-1, 0)):  # cu:231-232
                    ni, nj = i + di * s, j + dj * s
                    if (ni, nj) not in lists:  # cu:252: the neighbour must be searched
                        continue
                    offer(entries, snap[ni, nj][0] - di * s, snap[ni, nj][1] - dj * s, i, j)
        for (i, j), entries in lists.items():  # cu:300-324
            bi, bj = best(entries)[1:]
            for z in range(search.shape[1]):
                offer(entries, bi + search[it, z, 0, i, j], bj + search[it, z, 1, i, j], i, j)
    for (i, j), entries in lists.items():
        for m, (d, ii, jj) in enumerate(sorted(entries, key=lambda e: e[0])):
            cost[m, i, j], shift[:, m, i, j] = d, (ii, jj)
    return cost, shift


def psal_exact(q, k, hole, knn, p, seed):  # noqa: ANN001, ANN201
    """The exact field: for searched pixels the knn nearest valid keys (float64 brute force)."""
    _, h, w = q.shape
    searched, valid = _rules(h, w, p, hole)
    cost, shift = psal_search(q, k, hole, knn, p, 0, seed)  # the pixels that are not searched
    keys = [(ii, jj) for ii in range(h) for jj in range(w) if valid(ii, jj)]
    for i in range(h):
        for j in range(w):
            if searched(i, j):
                ds = sorted((_dist(q, k, i, j, ii, jj, p), ii, jj) for ii, jj in keys)[:knn]
                for m, (d, ii, jj) in enumerate(ds):
                    cost[m, i, j], shift[:, m, i, j] = d, (ii, jj)
    return cost, shift


def _softmax0(z):  # noqa: ANN001, ANN202
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def psal_output(v, cost, shift, p, temperature, aggregation):  # noqa: ANN001, ANN201
    """psal_attention.py:38-70 for one image: v (C, H, W), cost (K, H, W), shift (2, K, H, W) -> (C, H, W)."""
    v = v.astype(np.float64)
    if not aggregation:  # :40-41
        wts = _softmax0(-cost / temperature)
        return (wts[None] * v[:, shift[0], shift[1]]).sum(axis=1)
    r = p // 2
    kk, h, w = cost.shape
    pc = np.pad(cost, ((0, 0), (r, r), (r, r)), constant_values=PAD)  # :51
    ps = np.pad(shift, ((0, 0), (0, 0), (r, r), (r, r)), constant_values=PAD)  # :52
    all_cost = np.zeros((p * p * kk, h, w))
    all_shift = np.zeros((2, p * p * kk, h, w), int)
    idx = 0
    for di in range(p):  # :57-65
        for dj in range(p):
            pi, pj = r - di, r - dj
            all_cost[kk * idx : kk * (idx + 1)] = pc[:, di : h + di, dj : w + dj]
            all_shift[0, kk * idx : kk * (idx + 1)] = ps[0, :, di : h + di, dj : w + dj] + pi
            all_shift[1, kk * idx : kk * (idx + 1)] = ps[1, :, di : h + di, dj : w + dj] + pj
            idx += 1
    wts = _softmax0(-all_cost / temperature)  # :66
    ty, tx = np.clip(all_shift[0], 0, v.shape[1] - 1), np.clip(all_shift[1], 0, v.shape[2] - 1)  # :67-68
    return (wts[None] * v[:, ty, tx]).sum(axis=1)  # :70


def psal_attention(q, k, v, mask, knn, p, n_iters, temperature, aggregation, seed, exact=False):  # noqa: ANN001, ANN201
    """Batched (B, ., H, W) numpy arrays; mask (B, 1, H, W) or None. Returns (out, [(cost, shift)] per image)."""
    outs, fields = [], []
    for bi in range(q.shape[0]):
        hole = None if mask is None else mask[bi, 0] > 0.5
        if exact:
            cost, shift = psal_exact(q[bi], k[bi], hole, knn, p, seed)
        else:
            cost, shift = psal_search(q[bi], k[bi], hole, knn, p, n_iters, seed)
        fields.append((cost, shift))
        outs.append(psal_output(v[bi], cost, shift, p, temperature, aggregation))
    return np.stack(outs), fields
