"""numpy kernel of `edgeattn::EdgeAttnPatchMatch`: the algorithm of edgeattn/nn/patchmatch.py, step for step.

Run by onnx.reference (ReferenceEvaluator), ONNX Runtime (onnxruntime-extensions) and OpenVINO (Python op)
alike. Same tables, same candidate order, same merge rule as the torch code; distances are summed by numpy
in float32, so fields agree with PyTorch's up to float rounding of the distances.
"""

from __future__ import annotations

import numpy as np

from .patchmatch import BIG, INIT_ATTEMPTS, PAD_COST, PAD_SHIFT, PatchMatchParams, jump_steps, patchmatch_tables

__all__ = ["knn_np", "output_np", "attend_np"]


def _offsets(p: int) -> list[tuple[int, int]]:
    r = p // 2
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]


def _shift(t: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """out[..., y, x] = t[..., y + dy, x + dx], `fill` outside."""
    h, w = t.shape[-2:]
    out = np.full_like(t, fill)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = t[..., ys, xs]
    return out


def _patches(t: np.ndarray, p: int) -> np.ndarray:
    b, c, h, w = t.shape
    views = np.concatenate([_shift(t, dy, dx, 0.0) for dy, dx in _offsets(p)], axis=1)  # (B, C p^2, H, W)
    return views.reshape(b, c * p * p, h * w).transpose(0, 2, 1)  # (B, HW, C p^2)


def _merge(d, y, x, kk: int, w: int, dedup_from: int):
    """The kk smallest entries (stable order), later copies (index >= dedup_from) of a finite entry dropped."""
    m = d.shape[1]
    if dedup_from < m:
        flat = y * w + x
        same = flat[:, :, None] == flat[:, None, :]  # (B, m, m, HW): [i, j] entries i, j equal
        earlier = np.triu(np.ones((m, m), bool), 1)[None, :, :, None]  # [i, j]: i < j
        real = (d < BIG)[:, :, None]
        dup = (same & earlier & real).any(axis=1) & (np.arange(m) >= dedup_from)[None, :, None]
        d = np.where(dup, np.float32(BIG), d).astype(np.float32)
    order = np.argsort(d, axis=1, kind="stable")[:, :kk]
    return tuple(np.take_along_axis(t, order, axis=1) for t in (d, y, x))


def knn_np(q, k, mask, prm: PatchMatchParams, masked: bool):  # noqa: ANN001, ANN201
    """PSAL's field (distance, y, x), each (B, knn, HW) float32; see nn/patchmatch.patchmatch_knn."""
    b, _, h, w = q.shape
    n, kk, p, r = h * w, prm.knn, prm.patch_size, prm.patch_size // 2
    tables = patchmatch_tables(prm.seed, h, w, kk, prm.n_iters, p)
    qp, kp = _patches(q, p), _patches(k, p)
    batch = np.arange(b).reshape(b, 1, 1)
    yy = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    xx = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :], (h, w))

    def in_band(cy, cx):  # noqa: ANN001, ANN202
        return (cy >= r) & (cy <= h - 1 - r) & (cx >= r) & (cx <= w - 1 - r)

    band = in_band(yy, xx)[None, None]  # (1, 1, H, W)
    known = (mask.reshape(b, n) < 0.5) if masked else None
    searched = (band & (mask > 0.5)) if masked else np.broadcast_to(band, (b, 1, h, w))

    def flat_of(cy, cx):  # noqa: ANN001, ANN202
        return (np.clip(cy, 0, h - 1) * w + np.clip(cx, 0, w - 1)).astype(np.int64)

    def valid(cy, cx):  # noqa: ANN001, ANN202
        ok = in_band(cy, cx)
        return ok & known[batch, flat_of(cy, cx)] if masked else ok

    def distance(cy, cx, ok):  # noqa: ANN001, ANN202
        diff = kp[batch, flat_of(cy, cx)] - qp[:, None]  # (B, M, HW, D)
        return np.where(ok, (diff * diff).sum(axis=3, dtype=np.float32), np.float32(BIG)).astype(np.float32)

    def insert(state, cy, cx, ok):  # noqa: ANN001, ANN202
        d, y, x = (np.concatenate(t, axis=1) for t in zip(state, (distance(cy, cx, ok), cy, cx)))
        return _merge(d, y.astype(np.float32), x.astype(np.float32), kk, w, dedup_from=kk)

    init = tables["init"]  # (A, 2, k, H, W)
    first_try = INIT_ATTEMPTS - 1 if masked else 0
    iy = np.broadcast_to(init[first_try, 0].reshape(1, kk, n), (b, kk, n))
    ix = np.broadcast_to(init[first_try, 1].reshape(1, kk, n), (b, kk, n))
    if masked:
        for a in range(INIT_ATTEMPTS - 2, -1, -1):
            ay = np.broadcast_to(init[a, 0].reshape(1, kk, n), (b, kk, n))
            ax = np.broadcast_to(init[a, 1].reshape(1, kk, n), (b, kk, n))
            take = valid(ay, ax)
            iy, ix = np.where(take, ay, iy), np.where(take, ax, ix)
    state = _merge(distance(iy, ix, valid(iy, ix)), iy.astype(np.float32), ix.astype(np.float32), kk, w, kk)
    searched_f = searched.astype(np.float32)
    for it in range(prm.n_iters):
        best_y = state[1][:, :1].reshape(b, 1, h, w)
        best_x = state[2][:, :1].reshape(b, 1, h, w)
        cys, cxs, oks = [], [], []
        for s in jump_steps(masked):
            for dy, dx in ((0, s), (s, 0), (0, -s), (-s, 0)):
                oks.append(_shift(searched_f, dy, dx, 0.0) > 0.5)
                cys.append(_shift(best_y, dy, dx, 0.0) - dy)
                cxs.append(_shift(best_x, dy, dx, 0.0) - dx)
        m = len(cys)
        cy, cx = np.concatenate(cys, 1).reshape(b, m, n), np.concatenate(cxs, 1).reshape(b, m, n)
        state = insert(state, cy, cx, np.concatenate(oks, 1).reshape(b, m, n) & valid(cy, cx))
        off = tables["search"][it]
        z = off.shape[0]
        cy = state[1][:, :1] + off[:, 0].reshape(1, z, n)
        cx = state[2][:, :1] + off[:, 1].reshape(1, z, n)
        state = insert(state, cy, cx, valid(cy, cx))
    s_flat = searched.reshape(b, 1, n)
    if masked:
        uy, ux = yy.reshape(1, 1, n), xx.reshape(1, 1, n)
    else:
        uy, ux = init[0, 0].reshape(1, kk, n), init[0, 1].reshape(1, kk, n)
    d = np.where(s_flat, state[0], np.float32(0))
    return (d.astype(np.float32), np.where(s_flat, state[1], uy).astype(np.float32),
            np.where(s_flat, state[2], ux).astype(np.float32))


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def output_np(v, field, prm: PatchMatchParams) -> np.ndarray:  # noqa: ANN001
    """PSAL's output from a field: plain (psal_attention.py:40-41) or aggregated (:48-70)."""
    b, c, h, w = v.shape
    n, t = h * w, np.float32(prm.temperature)
    d, y, x = field
    kk = d.shape[1]
    vt = v.reshape(b, c, n).transpose(0, 2, 1)  # (B, HW, C)
    batch = np.arange(b).reshape(b, 1, 1)
    if not prm.aggregate:
        weights = _softmax(-d / t, axis=1)
        out = (vt[batch, (y * w + x).astype(np.int64)] * weights[..., None]).sum(axis=1)
        return np.ascontiguousarray(out.transpose(0, 2, 1).reshape(b, c, h, w), dtype=np.float32)
    d4, y4, x4 = (f.reshape(b, kk, h, w) for f in (d, y, x))
    logits, flats = [], []
    for oy, ox in _offsets(prm.patch_size):
        logits.append(-_shift(d4, oy, ox, PAD_COST) / t)
        ty = np.clip(_shift(y4, oy, ox, PAD_SHIFT) - oy, 0, h - 1)
        tx = np.clip(_shift(x4, oy, ox, PAD_SHIFT) - ox, 0, w - 1)
        flats.append((ty * w + tx).astype(np.int64).reshape(b, kk, n))
    weights = _softmax(np.concatenate(logits, axis=1), axis=1).reshape(b, -1, n)  # (B, p^2 k, HW)
    flat = np.concatenate(flats, axis=1)  # (B, p^2 k, HW)
    out = (vt[batch, flat] * weights[..., None]).sum(axis=1, dtype=np.float32)  # (B, HW, C)
    return np.ascontiguousarray(out.transpose(0, 2, 1).reshape(b, c, h, w), dtype=np.float32)


def attend_np(q, k, v, mask, prm: PatchMatchParams, masked: bool) -> np.ndarray:  # noqa: ANN001
    q, k, v, mask = (np.asarray(a, dtype=np.float32) for a in (q, k, v, mask))
    return output_np(v, knn_np(q, k, mask, prm, masked), prm)
