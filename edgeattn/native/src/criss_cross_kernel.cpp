// Criss-cross attention (CCNet, Huang et al. ICCV 2019, eq. 1-2): for pixel u = (y, x), energies e_i = q_u . k_i
// over u's column (without u itself) and row, one softmax over those H + W - 1 energies, y_u = sum_i A_i v_i.
//
// Tiling: a task is a block of up to R rows x 32 pixels (b, y0 .. y0 + R, x0 .. x0 + 32), R = 16 .. 64 (as many as
// keep its column energies within 1 MiB and 4 tasks per thread). Row by row it computes the energies of those 32
// pixels ((W + H) x 32 floats, laid out [key][pixel] so every loop runs over contiguous pixels; the column energies
// of 4 rows at a time, so each vector of k serves 4 rows), their joint softmax (shared maximum, the centre counted
// once) and the row part of the output; then the column part for the R rows at
// once, so each column strip of v is read from memory once per block, not once per row. The (B, H, W, H + W - 1)
// energy tensor of the map never exists (a task holds about (W + R H) x 32 floats). The k and v column strips, q and
// the row of k are first packed contiguously (NCHW puts a pixel's channels H W floats apart: one cache set at
// power-of-two sizes). The aggregation (C x (H + W) multiply-adds per pixel, most of the work when C = 8 C') is
// register-blocked: channels x 32 pixels (row part) or 4 rows x channels x one vector (column part) of accumulators
// stay in registers while the keys stream by. Vectors are GCC's generic vectors: 16 floats (one AVX-512 register;
// that block is compiled for x86-64-v4 and picked at run time) or 8 floats (one AVX register, two SSE/NEON
// registers), with blocking sized to each register file. A segment narrower than 32 (the right edge) takes plain
// loops. Tasks run on TBB.
// every helper taking or returning a vector is always_inline: no vector crosses a call, so the ABI note is moot
#pragma GCC diagnostic ignored "-Wpsabi"
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include <tbb/task_arena.h>

#include "common.hpp"
#include "criss_cross.hpp"

namespace edgeattn {

namespace {

constexpr size_t kTile = 32;  // pixels per task

// Vectors: GCC's generic vectors of 8 floats (one AVX register, two SSE/NEON registers) everywhere, and of 16
// floats (one AVX-512 register) on x86-64 CPUs with AVX-512, where the block is compiled for x86-64-v4 and picked at
// run time. Per width, the register blocking that fits its register file (16 AVX2 / 32 AVX-512 registers).
typedef float v8 __attribute__((vector_size(32)));
typedef int vi8 __attribute__((vector_size(32)));
template <class V>
struct VecTraits;
template <>
struct VecTraits<v8> {
    typedef vi8 I;
    static constexpr size_t kRowCh = 3;  // row part: 3 channels x 4 vectors of accumulators
    static constexpr size_t kColCh = 3;  // column part: 4 rows x 3 channels
    static constexpr size_t kKeys = 2;   // row energies: 2 keys x 4 vectors
    static constexpr size_t kColE = 2;   // column energies: 4 rows x 2 key rows
};
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGEATTN_CC_AVX512 1
typedef float v16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));
template <>
struct VecTraits<v16> {
    typedef vi16 I;
    static constexpr size_t kRowCh = 8;   // 8 channels x 2 vectors (12 runs short of address registers)
    static constexpr size_t kColCh = 6;   // 4 rows x 6 channels
    static constexpr size_t kKeys = 8;    // 8 keys x 2 vectors
    static constexpr size_t kColE = 6;    // column energies: 4 rows x 6 key rows
};
#endif

constexpr size_t kMaxColCh = 6;
// column energies of a block, ec[g][t][r][yy][i] for rows g * 4 + yy and pixels t * N + i (N floats a vector): the
// 4 rows that the column part takes at once lie side by side, one vector of pixels at a time, so it streams one
// contiguous array
constexpr size_t kColRows = 4;
constexpr size_t kColKeys = 32;  // key rows per chunk of the column part  // the largest kColCh: vp's size

template <class V>
__attribute__((always_inline)) inline V load(const float* p) {
    V r;
    std::memcpy(&r, p, sizeof r);
    return r;
}
template <class V>
__attribute__((always_inline)) inline void store(float* p, V v) {
    std::memcpy(p, &v, sizeof v);
}
template <class V>
__attribute__((always_inline)) inline V splat(float s) {
    // lane 0 shuffled to every lane: one broadcast (GCC 12 builds a 16-lane {s, s, ...} lane by lane)
    return __builtin_shuffle(V{s}, typename VecTraits<V>::I{});
}

// exp_nonpositive (common.hpp) on a vector
template <class V>
__attribute__((always_inline)) inline V expv(V x) {
    typedef typename VecTraits<V>::I I;
    x = x < -87.0f ? splat<V>(-87.0f) : x;
    const I n = __builtin_convertvector(x * 1.44269504f - 0.5f, I);
    const V fn = __builtin_convertvector(n, V);
    const V r = (x - fn * 0.693359375f) + fn * 2.12194440e-4f;
    const V p = exp_reduced(r, splat<V>(1.0f / 5040.0f));
    const I bits = (n + 127) << 23;
    V scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// softmax for a full tile, one vector of pixels at a time (same arithmetic as `softmax`); ec's rows are es floats apart
template <class V>
__attribute__((always_inline)) inline void softmax_full(float* er, float* ec, float* inv, size_t h, size_t w,
                                                        size_t y, size_t es, size_t ts) {
    constexpr size_t N = sizeof(V) / sizeof(float), P = kTile / N;
    for (size_t t = 0; t < P; ++t) {
        V m = splat<V>(-std::numeric_limits<float>::infinity());
        for (size_t j = 0; j < w; ++j) {
            const V e = load<V>(er + j * kTile + t * N);
            m = m > e ? m : e;
        }
        for (size_t r = 0; r < h; ++r) {
            if (r == y) continue;
            const V e = load<V>(ec + t * ts + r * es);
            m = m > e ? m : e;
        }
        V den = splat<V>(0.0f);
        for (size_t j = 0; j < w; ++j) {
            const V e = expv<V>(load<V>(er + j * kTile + t * N) - m);
            store<V>(er + j * kTile + t * N, e);
            den += e;
        }
        for (size_t r = 0; r < h; ++r) {
            if (r == y) {
                store<V>(ec + t * ts + r * es, splat<V>(0.0f));
                continue;
            }
            const V e = expv<V>(load<V>(ec + t * ts + r * es) - m);
            store<V>(ec + t * ts + r * es, e);
            den += e;
        }
        store<V>(inv + t * N, 1.0f / den);
    }
}

// the joint softmax of nx pixels, in place: er (W x kTile), ec (H x kTile, row y skipped); inv = 1 / denominator
__attribute__((always_inline)) inline void softmax(float* er, float* ec, float* inv, size_t h, size_t w, size_t y, size_t nx) {
    float m[kTile];
    std::fill(m, m + kTile, -std::numeric_limits<float>::infinity());
    for (size_t j = 0; j < w; ++j)
        for (size_t i = 0; i < kTile; ++i) m[i] = std::max(m[i], er[j * kTile + i]);
    for (size_t r = 0; r < h; ++r) {
        if (r == y) continue;
        for (size_t i = 0; i < kTile; ++i) m[i] = std::max(m[i], ec[r * kTile + i]);
    }
    float den[kTile] = {};
    for (size_t j = 0; j < w; ++j)
        for (size_t i = 0; i < kTile; ++i) den[i] += er[j * kTile + i] = exp_nonpositive(er[j * kTile + i] - m[i]);
    for (size_t r = 0; r < h; ++r) {
        float* e = ec + r * kTile;
        if (r == y) {  // the centre is counted once, in the row
            std::fill(e, e + kTile, 0.0f);
            continue;
        }
        for (size_t i = 0; i < kTile; ++i) den[i] += e[i] = exp_nonpositive(e[i] - m[i]);
    }
    for (size_t i = 0; i < kTile; ++i) inv[i] = i < nx ? 1.0f / den[i] : 0.0f;
}

// row energies for keys j .. j + JB: er[j][i] = q(y, x0 + i) . k(y, j), q's channels qs floats apart, k's ks; a
// vector of q serves JB keys
template <class V, size_t JB>
__attribute__((always_inline)) inline void row_energies(const float* q, const float* k, float* er, size_t ck,
                                                        size_t qs, size_t ks, size_t j) {
    constexpr size_t N = sizeof(V) / sizeof(float), P = kTile / N;
    V acc[JB][P] = {};
    for (size_t ch = 0; ch < ck; ++ch) {
        V qv[P];
        for (size_t t = 0; t < P; ++t) qv[t] = load<V>(q + ch * qs + t * N);
        for (size_t jb = 0; jb < JB; ++jb) {
            const V s = splat<V>(k[ch * ks + j + jb]);
            for (size_t t = 0; t < P; ++t) acc[jb][t] += qv[t] * s;
        }
    }
    for (size_t jb = 0; jb < JB; ++jb)
        for (size_t t = 0; t < P; ++t) store<V>(er + (j + jb) * kTile + t * N, acc[jb][t]);
}

// row part: out[c, y, x0 + i] = inv[i] * sum_j er[j][i] v[c, y, j], channels c0 .. c0 + CB
template <class V, size_t CB>
__attribute__((always_inline)) inline void row_block(const float* v, float* out, const float* er, const float* inv,
                                                     size_t c0, size_t h, size_t w, size_t y, size_t x0) {
    constexpr size_t N = sizeof(V) / sizeof(float), P = kTile / N;
    const size_t hw = h * w;
    V acc[CB][P] = {};
    const float* vr = v + c0 * hw + y * w;
    for (size_t j = 0; j < w; ++j) {
        V p[P];
        for (size_t t = 0; t < P; ++t) p[t] = load<V>(er + j * kTile + t * N);
        for (size_t cb = 0; cb < CB; ++cb) {
            const V s = splat<V>(vr[cb * hw + j]);
            for (size_t t = 0; t < P; ++t) acc[cb][t] += p[t] * s;
        }
    }
    for (size_t cb = 0; cb < CB; ++cb)
        for (size_t t = 0; t < P; ++t)
            store<V>(out + (c0 + cb) * hw + y * w + x0 + t * N, acc[cb][t] * load<V>(inv + t * N));
}

// column part for NY rows y0 .. y0 + NY and one vector of pixels: out[c, y, x] += inv_y[x] sum_r ec_y[r][x] v[c, r, x];
// v's column strip comes packed, vp[r][cb][i] = v[c0 + cb, r, x0 + i] (vp points at this vector's pixels), read once
// for all NY rows (ec_y's row y is zero: the centre is in the row part)
template <class V, size_t NY, size_t CB>
__attribute__((always_inline)) inline void column_block(const float* vp, size_t vp_stride, float* out, const float* ec,
                                                        const float* inv, size_t r0, size_t r1, size_t c0, size_t h,
                                                        size_t w, size_t y0, size_t x) {
    const size_t hw = h * w;
    V acc[NY][CB] = {};
    for (size_t r = r0; r < r1; ++r) {
        V vv[CB];
        for (size_t cb = 0; cb < CB; ++cb) vv[cb] = load<V>(vp + r * vp_stride + cb * kTile);
        for (size_t yy = 0; yy < NY; ++yy) {
            const V p = load<V>(ec + (r * kColRows + yy) * (sizeof(V) / sizeof(float)));
            for (size_t cb = 0; cb < CB; ++cb) acc[yy][cb] += p * vv[cb];
        }
    }
    for (size_t yy = 0; yy < NY; ++yy)
        for (size_t cb = 0; cb < CB; ++cb) {
            float* o = out + (c0 + cb) * hw + (y0 + yy) * w + x;
            store<V>(o, load<V>(o) + acc[yy][cb] * load<V>(inv + yy * kTile));
        }
}

// column_block for cb <= CB channels (cb > 0)
template <class V, size_t NY, size_t CB>
__attribute__((always_inline)) inline void column_rows(size_t cb, const float* vp, size_t vp_stride, float* out,
                                                       const float* ec, const float* inv, size_t r0, size_t r1,
                                                       size_t c0, size_t h, size_t w, size_t y0, size_t x) {
    if constexpr (CB > 1) {
        if (cb < CB) return column_rows<V, NY, CB - 1>(cb, vp, vp_stride, out, ec, inv, r0, r1, c0, h, w, y0, x);
    }
    column_block<V, NY, CB>(vp, vp_stride, out, ec, inv, r0, r1, c0, h, w, y0, x);
}

// the column part of a block of ny rows: per group of channels, its column strip of v (CB x H x 32 floats) is
// packed contiguously (vp, H x CB x 32 floats: NCHW rows are w floats apart, which maps a strip's lines onto a few
// cache sets) and reused, from cache, by all ny rows in groups of 4
template <class V>
__attribute__((always_inline)) inline void columns(const float* v, float* out, const float* ec, const float* inv,
                                                   size_t c, size_t h, size_t w, size_t y0, size_t ny, size_t x0,
                                                   float* vp) {
    constexpr size_t N = sizeof(V) / sizeof(float), P = kTile / N, CB = VecTraits<V>::kColCh;
    const size_t stride = h * kTile, hw = h * w;
    for (size_t c0 = 0; c0 < c; c0 += CB) {
        const size_t cb = std::min(CB, c - c0);
        const size_t vs = cb * kTile;
        for (size_t r = 0; r < h; ++r)
            for (size_t i = 0; i < cb; ++i)
                std::memcpy(vp + r * vs + i * kTile, v + (c0 + i) * hw + r * w + x0, kTile * sizeof(float));
        // key rows in chunks of kColKeys: the chunk of vp (kColKeys x CB x 32 floats) stays in L1 while all row
        // groups take it (each chunk adds its share of the sum, scaled by 1 / denominator, to out)
        for (size_t r0 = 0; r0 < h; r0 += kColKeys) {
            const size_t r1 = std::min(h, r0 + kColKeys);
            for (size_t t = 0; t < P; ++t)
                for (size_t g = 0; g < ny; g += kColRows) {
                    const float* e = ec + g * stride + t * h * kColRows * N;
                    const float* iv = inv + g * kTile + t * N;
                    const size_t x = x0 + t * N;
                    const float* vpt = vp + t * N;
                    switch (std::min(kColRows, ny - g)) {
                        case 4: column_rows<V, 4, CB>(cb, vpt, vs, out, e, iv, r0, r1, c0, h, w, y0 + g, x); break;
                        case 3: column_rows<V, 3, CB>(cb, vpt, vs, out, e, iv, r0, r1, c0, h, w, y0 + g, x); break;
                        case 2: column_rows<V, 2, CB>(cb, vpt, vs, out, e, iv, r0, r1, c0, h, w, y0 + g, x); break;
                        default: column_rows<V, 1, CB>(cb, vpt, vs, out, e, iv, r0, r1, c0, h, w, y0 + g, x); break;
                    }
                }
        }
    }
}

// column energies of NY <= 4 rows side by side (one group of ec) for key rows r .. r + RB and one vector of
// pixels: ecg[(r' * 4 + yy) * N + i] = q(y0 + yy, x0 + i) . k(r', x0 + i) (ecg: this vector's part of the group);
// qp is [yy][ch][32], kp [r][ch][32]. Each vector of k serves NY rows (one row at a time read all of kp, H x Ck x 32
// floats, from L2 per row)
template <class V, size_t NY, size_t RB>
__attribute__((always_inline)) inline void column_energies(const float* qp, const float* kp, float* ecg, size_t ck,
                                                           size_t r) {
    V acc[NY][RB] = {};
    for (size_t ch = 0; ch < ck; ++ch) {
        V qv[NY];
        for (size_t yy = 0; yy < NY; ++yy) qv[yy] = load<V>(qp + (yy * ck + ch) * kTile);
        for (size_t rb = 0; rb < RB; ++rb) {
            const V kv = load<V>(kp + ((r + rb) * ck + ch) * kTile);
            for (size_t yy = 0; yy < NY; ++yy) acc[yy][rb] += qv[yy] * kv;
        }
    }
    for (size_t rb = 0; rb < RB; ++rb)
        for (size_t yy = 0; yy < NY; ++yy)
            store<V>(ecg + ((r + rb) * kColRows + yy) * (sizeof(V) / sizeof(float)), acc[yy][rb]);
}

template <class V, size_t NY>
__attribute__((always_inline)) inline void column_energies_group(const float* qp, const float* kp, float* ecg,
                                                                 size_t ck, size_t h) {
    constexpr size_t N = sizeof(V) / sizeof(float), P = kTile / N, RB = VecTraits<V>::kColE;
    for (size_t t = 0; t < P; ++t) {
        size_t r = 0;
        float* e = ecg + t * h * kColRows * N;
        for (; r + RB <= h; r += RB) column_energies<V, NY, RB>(qp + t * N, kp + t * N, e, ck, r);
        for (; r < h; ++r) column_energies<V, NY, 1>(qp + t * N, kp + t * N, e, ck, r);
    }
}

// Scratch besides er / ec / inv / vp: kp (H x Ck x 32 floats), the block's column strip of k, packed once per block;
// qp (Ck x 32), the row's q; kr (Ck x W), the row of k. Channels of an NCHW map lie H W floats apart, which at
// power-of-two sizes puts all of a pixel's channels in one cache set: packed, the loops below read contiguous memory.
template <class V>
__attribute__((always_inline)) inline void full_block_impl(const float* q, const float* k, const float* v, float* out,
                                                           size_t ck, size_t c, size_t h, size_t w, size_t y0,
                                                           size_t ny, size_t x0, float* er, float* ec, float* inv,
                                                           float* vp, float* kp, float* qp, float* kr) {
    constexpr size_t JB = VecTraits<V>::kKeys, CB = VecTraits<V>::kRowCh;
    const size_t hw = h * w;
    for (size_t r = 0; r < h; ++r)
        for (size_t ch = 0; ch < ck; ++ch)
            std::memcpy(kp + (r * ck + ch) * kTile, k + ch * hw + r * w + x0, kTile * sizeof(float));
    for (size_t yy = 0; yy < ny; ++yy) {  // per row: energies, the joint softmax, the row part of the output
        const size_t y = y0 + yy;
        constexpr size_t N = sizeof(V) / sizeof(float);
        float* ecy = ec + yy / kColRows * h * kColRows * kTile + yy % kColRows * N;  // its column energies
        const size_t es = kColRows * N, ts = h * kColRows * N;
        if (yy % kColRows == 0) {  // the group's q, and its column energies (each vector of k serves its rows)
            const size_t ng = std::min(kColRows, ny - yy);
            for (size_t g = 0; g < ng; ++g)
                for (size_t ch = 0; ch < ck; ++ch)
                    std::memcpy(qp + (g * ck + ch) * kTile, q + ch * hw + (y + g) * w + x0, kTile * sizeof(float));
            float* ecg = ec + yy * h * kTile;
            switch (ng) {
                case 4: column_energies_group<V, 4>(qp, kp, ecg, ck, h); break;
                case 3: column_energies_group<V, 3>(qp, kp, ecg, ck, h); break;
                case 2: column_energies_group<V, 2>(qp, kp, ecg, ck, h); break;
                default: column_energies_group<V, 1>(qp, kp, ecg, ck, h); break;
            }
        }
        for (size_t ch = 0; ch < ck; ++ch) std::memcpy(kr + ch * w, k + ch * hw + y * w, w * sizeof(float));
        const float* qy = qp + yy % kColRows * ck * kTile;
        size_t j = 0;
        for (; j + JB <= w; j += JB) row_energies<V, JB>(qy, kr, er, ck, kTile, w, j);
        for (; j < w; ++j) row_energies<V, 1>(qy, kr, er, ck, kTile, w, j);
        softmax_full<V>(er, ecy, inv + yy * kTile, h, w, y, es, ts);
        size_t c0 = 0;
        for (; c0 + CB <= c; c0 += CB) row_block<V, CB>(v, out, er, inv + yy * kTile, c0, h, w, y, x0);
        for (; c0 < c; ++c0) row_block<V, 1>(v, out, er, inv + yy * kTile, c0, h, w, y, x0);
    }
    columns<V>(v, out, ec, inv, c, h, w, y0, ny, x0, vp);  // the column part for all rows of the block at once
}

EDGEATTN_CLONES
void full_block(const float* q, const float* k, const float* v, float* out, size_t ck, size_t c, size_t h, size_t w,
                size_t y0, size_t ny, size_t x0, float* er, float* ec, float* inv, float* vp, float* kp, float* qp, float* kr) {
    full_block_impl<v8>(q, k, v, out, ck, c, h, w, y0, ny, x0, er, ec, inv, vp, kp, qp, kr);
}

#ifdef EDGEATTN_CC_AVX512
__attribute__((target("arch=x86-64-v4"))) void full_block_avx512(const float* q, const float* k, const float* v,
                                                                  float* out, size_t ck, size_t c, size_t h, size_t w,
                                                                  size_t y0, size_t ny, size_t x0, float* er,
                                                                  float* ec, float* inv, float* vp, float* kp,
                                                                  float* qp, float* kr) {
    full_block_impl<v16>(q, k, v, out, ck, c, h, w, y0, ny, x0, er, ec, inv, vp, kp, qp, kr);
}
#endif

// a segment of nx < 32 pixels (the right edge): the same computation with plain loops, no access past x0 + nx
void edge_segment(const float* q, const float* k, const float* v, float* out, size_t ck, size_t c, size_t h, size_t w,
                  size_t y, size_t x0, size_t nx, float* er, float* ec) {
    const size_t hw = h * w;
    std::fill(er, er + w * kTile, 0.0f);
    std::fill(ec, ec + h * kTile, 0.0f);
    for (size_t ch = 0; ch < ck; ++ch) {
        const float* qr = q + ch * hw + y * w + x0;
        for (size_t j = 0; j < w; ++j)
            for (size_t i = 0; i < nx; ++i) er[j * kTile + i] += qr[i] * k[ch * hw + y * w + j];
        for (size_t r = 0; r < h; ++r)
            for (size_t i = 0; i < nx; ++i) ec[r * kTile + i] += qr[i] * k[ch * hw + r * w + x0 + i];
    }
    float inv[kTile];
    softmax(er, ec, inv, h, w, y, nx);
    for (size_t ch = 0; ch < c; ++ch)
        for (size_t i = 0; i < nx; ++i) {
            float acc = 0.0f;
            for (size_t j = 0; j < w; ++j) acc += er[j * kTile + i] * v[ch * hw + y * w + j];
            for (size_t r = 0; r < h; ++r) acc += ec[r * kTile + i] * v[ch * hw + r * w + x0 + i];
            out[ch * hw + y * w + x0 + i] = acc * inv[i];
        }
}

}  // namespace

void criss_cross_f32(const float* q, const float* k, const float* v, float* y, size_t batch, size_t ck, size_t c,
                     size_t h, size_t w) {
    // rows per task: the column part reads each column strip of v (from memory: every row of the map) once per task,
    // so as many as keep ec (rows x H x 32 floats) within 1 MiB (L2) and the tasks >= 4 per thread, 16 to 64
    const size_t tiles_x = (w + kTile - 1) / kTile;
    const size_t threads = static_cast<size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
    size_t rows = 64;
    while (rows > 16 && (rows * h * kTile * sizeof(float) > (size_t{1} << 20) ||
                         batch * ((h + rows - 1) / rows) * tiles_x < 4 * threads))
        rows /= 2;
    const size_t tiles_y = (h + rows - 1) / rows;
    const size_t hw = h * w;
#ifdef EDGEATTN_CC_AVX512
    static const bool avx512 = __builtin_cpu_supports("x86-64-v4");
#endif
    parallel_for(batch * tiles_y * tiles_x, [&](size_t task) {
        const size_t b = task / (tiles_y * tiles_x), y0 = task / tiles_x % tiles_y * rows, x0 = task % tiles_x * kTile;
        const size_t nx = std::min(kTile, w - x0), ny = std::min(rows, h - y0);
        thread_local std::vector<float> scratch;
        scratch.resize((w + rows * h + rows + kMaxColCh * h + h * ck + kColRows * ck) * kTile + ck * w);
        float* er = scratch.data();
        float* ec = er + w * kTile;
        float* inv = ec + rows * h * kTile;
        float* vp = inv + rows * kTile;  // a packed column strip of v (columns)
        float* kp = vp + kMaxColCh * h * kTile;
        float* qp = kp + h * ck * kTile;
        float* kr = qp + kColRows * ck * kTile;
        const float *qb = q + b * ck * hw, *kb = k + b * ck * hw, *vb = v + b * c * hw;
        if (nx == kTile) {
#ifdef EDGEATTN_CC_AVX512
            if (avx512) return full_block_avx512(qb, kb, vb, y + b * c * hw, ck, c, h, w, y0, ny, x0, er, ec, inv, vp, kp, qp, kr);
#endif
            full_block(qb, kb, vb, y + b * c * hw, ck, c, h, w, y0, ny, x0, er, ec, inv, vp, kp, qp, kr);
        } else {
            for (size_t row = y0; row < y0 + ny; ++row)
                edge_segment(qb, kb, vb, y + b * c * hw, ck, c, h, w, row, x0, nx, er, ec);
        }
    });
}

}  // namespace edgeattn
