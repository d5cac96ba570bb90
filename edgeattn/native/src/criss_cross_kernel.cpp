// Criss-cross attention (CCNet, Huang et al. ICCV 2019, eq. 1-2): for pixel u = (y, x), energies e_i = q_u . k_i
// over u's column (without u itself) and row, one softmax over those H + W - 1 energies, y_u = sum_i A_i v_i.
//
// Tiling: a task is a block of up to 16 rows x 32 pixels (b, y0 .. y0 + 16, x0 .. x0 + 32). Row by row it computes the
// energies of those 32 pixels ((W + H) x 32 floats, laid out [key][pixel] so every loop runs over contiguous pixels
// of NCHW rows), their joint softmax (shared maximum, the centre counted once) and the row part of the output;
// then the column part for the 16 rows at once, so each column strip of v is read from memory once per block, not
// once per row. The (B, H, W, H + W - 1) energy tensor of the map never exists (a task holds (W + 16 H) x 32 floats).
// The aggregation (C x (H + W) multiply-adds per pixel, most of the work when C = 8 C') is register-blocked: 3
// channels x 32 pixels (row part) or 4 rows x 3 channels x 8 pixels (column part) of accumulators stay in registers
// while the keys stream by. Vectors are GCC's generic 8-float vectors: one AVX register, two SSE/NEON registers. A
// segment narrower than 32 (the right edge) takes plain loops. Tasks run on TBB.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "common.hpp"
#include "criss_cross.hpp"

namespace edgeattn {

namespace {

constexpr size_t kTile = 32;  // pixels per task
constexpr size_t kVec = 8;    // floats per vector
constexpr size_t kParts = kTile / kVec;
constexpr size_t kBlock = 3;  // channels aggregated at once
constexpr size_t kRows = 16;  // rows per task: the column part reads each strip of v once for 16 rows
typedef float v8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline v8 load(const float* p) {
    v8 r;
    std::memcpy(&r, p, sizeof r);
    return r;
}
__attribute__((always_inline)) inline void store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
__attribute__((always_inline)) inline v8 splat(float s) { return v8{s, s, s, s, s, s, s, s}; }

typedef int vi8 __attribute__((vector_size(32)));

// exp_nonpositive (common.hpp) on 8 floats at once
__attribute__((always_inline)) inline v8 exp8(v8 x) {
    x = x < -87.0f ? splat(-87.0f) : x;
    const vi8 n = __builtin_convertvector(x * 1.44269504f - 0.5f, vi8);
    const v8 fn = __builtin_convertvector(n, v8);
    const v8 r = (x - fn * 0.693359375f) + fn * 2.12194440e-4f;
    v8 p = splat(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const vi8 bits = (n + 127) << 23;
    v8 scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// softmax for a full tile, 8 pixels per vector (same arithmetic as `softmax`)
__attribute__((always_inline)) inline void softmax_full(float* er, float* ec, float* inv, size_t h, size_t w,
                                                        size_t y) {
    for (size_t t = 0; t < kParts; ++t) {
        v8 m = splat(-std::numeric_limits<float>::infinity());
        for (size_t j = 0; j < w; ++j) {
            const v8 e = load(er + j * kTile + t * kVec);
            m = m > e ? m : e;
        }
        for (size_t r = 0; r < h; ++r) {
            if (r == y) continue;
            const v8 e = load(ec + r * kTile + t * kVec);
            m = m > e ? m : e;
        }
        v8 den = splat(0.0f);
        for (size_t j = 0; j < w; ++j) {
            const v8 e = exp8(load(er + j * kTile + t * kVec) - m);
            store(er + j * kTile + t * kVec, e);
            den += e;
        }
        for (size_t r = 0; r < h; ++r) {
            if (r == y) {
                store(ec + r * kTile + t * kVec, splat(0.0f));
                continue;
            }
            const v8 e = exp8(load(ec + r * kTile + t * kVec) - m);
            store(ec + r * kTile + t * kVec, e);
            den += e;
        }
        store(inv + t * kVec, 1.0f / den);
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

// row part: out[c, y, x0 + i] = inv[i] * sum_j er[j][i] v[c, y, j], channels c0 .. c0 + CB
template <size_t CB>
__attribute__((always_inline)) inline void row_block(const float* v, float* out, const float* er, const float* inv,
                                                     size_t c0, size_t h, size_t w, size_t y, size_t x0) {
    const size_t hw = h * w;
    v8 acc[CB][kParts] = {};
    for (size_t j = 0; j < w; ++j) {
        v8 p[kParts];
        for (size_t t = 0; t < kParts; ++t) p[t] = load(er + j * kTile + t * kVec);
        for (size_t cb = 0; cb < CB; ++cb) {
            const v8 s = splat(v[(c0 + cb) * hw + y * w + j]);
            for (size_t t = 0; t < kParts; ++t) acc[cb][t] += p[t] * s;
        }
    }
    for (size_t cb = 0; cb < CB; ++cb)
        for (size_t t = 0; t < kParts; ++t)
            store(out + (c0 + cb) * hw + y * w + x0 + t * kVec, acc[cb][t] * load(inv + t * kVec));
}

// column part for NY rows y0 .. y0 + NY and 8 pixels (part t): out[c, y, x] += inv_y[x] sum_r ec_y[r][x] v[c, r, x];
// the 8-pixel column strip of v is read once for all NY rows (ec_y's row y is zero: the centre is in the row part)
template <size_t NY, size_t CB>
__attribute__((always_inline)) inline void column_block(const float* v, float* out, const float* ec, const float* inv,
                                                        size_t ec_stride, size_t c0, size_t h, size_t w, size_t y0,
                                                        size_t x) {
    const size_t hw = h * w;
    v8 acc[NY][CB] = {};
    for (size_t r = 0; r < h; ++r) {
        v8 vv[CB];
        for (size_t cb = 0; cb < CB; ++cb) vv[cb] = load(v + (c0 + cb) * hw + r * w + x);
        for (size_t yy = 0; yy < NY; ++yy) {
            const v8 p = load(ec + yy * ec_stride + r * kTile);
            for (size_t cb = 0; cb < CB; ++cb) acc[yy][cb] += p * vv[cb];
        }
    }
    for (size_t yy = 0; yy < NY; ++yy)
        for (size_t cb = 0; cb < CB; ++cb) {
            float* o = out + (c0 + cb) * hw + (y0 + yy) * w + x;
            store(o, load(o) + acc[yy][cb] * load(inv + yy * kTile));
        }
}

template <size_t NY>
__attribute__((always_inline)) inline void column_rows(size_t cb, const float* v, float* out, const float* ec,
                                                       const float* inv, size_t stride, size_t c0, size_t h, size_t w,
                                                       size_t y0, size_t x) {
    if (cb == 3) column_block<NY, 3>(v, out, ec, inv, stride, c0, h, w, y0, x);
    else if (cb == 2) column_block<NY, 2>(v, out, ec, inv, stride, c0, h, w, y0, x);
    else column_block<NY, 1>(v, out, ec, inv, stride, c0, h, w, y0, x);
}

// the column part of a block of ny rows: per group of 3 channels, its column strip of v (3 x H x 32 floats) is read
// from memory once and reused, from cache, by all ny rows in groups of 4
__attribute__((always_inline)) inline void columns(const float* v, float* out, const float* ec, const float* inv,
                                                   size_t c, size_t h, size_t w, size_t y0, size_t ny, size_t x0) {
    const size_t stride = h * kTile;
    for (size_t c0 = 0; c0 < c; c0 += kBlock) {
        const size_t cb = std::min(kBlock, c - c0);
        for (size_t t = 0; t < kParts; ++t)
            for (size_t g = 0; g < ny; g += 4) {
                const float* e = ec + g * stride + t * kVec;
                const float* iv = inv + g * kTile + t * kVec;
                const size_t x = x0 + t * kVec;
                switch (std::min<size_t>(4, ny - g)) {
                    case 4: column_rows<4>(cb, v, out, e, iv, stride, c0, h, w, y0 + g, x); break;
                    case 3: column_rows<3>(cb, v, out, e, iv, stride, c0, h, w, y0 + g, x); break;
                    case 2: column_rows<2>(cb, v, out, e, iv, stride, c0, h, w, y0 + g, x); break;
                    default: column_rows<1>(cb, v, out, e, iv, stride, c0, h, w, y0 + g, x); break;
                }
            }
    }
}

EDGEATTN_CLONES
void full_block(const float* q, const float* k, const float* v, float* out, size_t ck, size_t c, size_t h, size_t w,
                size_t y0, size_t ny, size_t x0, float* er, float* ec, float* inv) {
    const size_t hw = h * w;
    for (size_t yy = 0; yy < ny; ++yy) {  // per row: energies, the joint softmax, the row part of the output
        const size_t y = y0 + yy;
        float* ecy = ec + yy * h * kTile;
        for (size_t j = 0; j < w; ++j) {  // row energies er[j][i] = q(y, x0 + i) . k(y, j)
            v8 acc[kParts] = {};
            for (size_t ch = 0; ch < ck; ++ch) {
                const v8 s = splat(k[ch * hw + y * w + j]);
                for (size_t t = 0; t < kParts; ++t) acc[t] += load(q + ch * hw + y * w + x0 + t * kVec) * s;
            }
            for (size_t t = 0; t < kParts; ++t) store(er + j * kTile + t * kVec, acc[t]);
        }
        for (size_t r = 0; r < h; ++r) {  // column energies ec[r][i] = q(y, x0 + i) . k(r, x0 + i)
            v8 acc[kParts] = {};
            for (size_t ch = 0; ch < ck; ++ch)
                for (size_t t = 0; t < kParts; ++t)
                    acc[t] += load(q + ch * hw + y * w + x0 + t * kVec) * load(k + ch * hw + r * w + x0 + t * kVec);
            for (size_t t = 0; t < kParts; ++t) store(ecy + r * kTile + t * kVec, acc[t]);
        }
        softmax_full(er, ecy, inv + yy * kTile, h, w, y);
        size_t c0 = 0;
        for (; c0 + kBlock <= c; c0 += kBlock) row_block<kBlock>(v, out, er, inv + yy * kTile, c0, h, w, y, x0);
        for (; c0 < c; ++c0) row_block<1>(v, out, er, inv + yy * kTile, c0, h, w, y, x0);
    }
    columns(v, out, ec, inv, c, h, w, y0, ny, x0);  // the column part for all rows of the block at once
}

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
    const size_t tiles_x = (w + kTile - 1) / kTile, tiles_y = (h + kRows - 1) / kRows;
    const size_t hw = h * w;
    parallel_for(batch * tiles_y * tiles_x, [&](size_t task) {
        const size_t b = task / (tiles_y * tiles_x), y0 = task / tiles_x % tiles_y * kRows, x0 = task % tiles_x * kTile;
        const size_t nx = std::min(kTile, w - x0), ny = std::min(kRows, h - y0);
        thread_local std::vector<float> scratch;
        scratch.resize((w + kRows * h + kRows) * kTile);
        float* er = scratch.data();
        float* ec = er + w * kTile;
        float* inv = ec + kRows * h * kTile;
        const float *qb = q + b * ck * hw, *kb = k + b * ck * hw, *vb = v + b * c * hw;
        if (nx == kTile) {
            full_block(qb, kb, vb, y + b * c * hw, ck, c, h, w, y0, ny, x0, er, ec, inv);
        } else {
            for (size_t row = y0; row < y0 + ny; ++row)
                edge_segment(qb, kb, vb, y + b * c * hw, ck, c, h, w, row, x0, nx, er, ec);
        }
    });
}

}  // namespace edgeattn
