// PSAL PatchMatch attention (Cherel et al., arXiv 2202.03163), the same deterministic search as
// edgeattn/ops/_patchmatch_np.py, pixel by pixel: the same seeded tables (pcg64.hpp), candidates in the same
// order, the same accept rule (a valid candidate, not already seen at that position, enters the sorted list of K
// if strictly closer than its worst entry: the stable K-smallest merge of _merge), distances summed in numpy's
// pairwise order so fields are bit-identical to the numpy path's. Propagation reads the best-match map as it was
// at the start of the pass (deviation 2 of docs/patchmatch-custom-ops.md), so pixels are independent within a
// pass and run in parallel. Built with -ffp-contract=off: a fused multiply-add would change the distances.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.hpp"
#include "patchmatch.hpp"
#include "pcg64.hpp"

namespace edgeattn {

namespace {

constexpr int kInitAttempts = 4;  // ops/patchmatch.py INIT_ATTEMPTS
constexpr float kBig = 1.0e30f;   // BIG: distance of a rejected candidate
constexpr float kPadCost = 10.0f, kPadShift = 10.0f;

// numpy's float32 pairwise summation (the order np.sum uses along a contiguous axis)
float pairwise_sum(const float* a, size_t n) {
    if (n < 8) {
        float res = 0.0f;
        for (size_t i = 0; i < n; ++i) res += a[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// patches (H W, Cm p^2), element (offset, channel) at offset * Cm + channel, zero outside the map (_patches)
std::vector<float> patches(const float* t, size_t cm, size_t h, size_t w, int p) {
    const int r = p / 2;
    const size_t d = cm * size_t(p) * size_t(p);
    std::vector<float> out(h * w * d, 0.0f);
    parallel_for(h, [&](size_t y) {
        for (size_t x = 0; x < w; ++x) {
            float* dst = out.data() + (y * w + x) * d;
            size_t o = 0;
            for (int dy = -r; dy <= r; ++dy)
                for (int dx = -r; dx <= r; ++dx, ++o) {
                    const long sy = long(y) + dy, sx = long(x) + dx;
                    if (sy < 0 || sx < 0 || sy >= long(h) || sx >= long(w)) continue;
                    for (size_t ch = 0; ch < cm; ++ch) dst[o * cm + ch] = t[(ch * h + size_t(sy)) * w + size_t(sx)];
                }
        }
    });
    return out;
}

struct Field {  // per pixel, K entries sorted by distance (ties: the earlier entry first)
    std::vector<float> d;
    std::vector<int32_t> y, x;
};

struct Search {
    const PatchMatchParams& p;
    const PatchMatchTables& t;
    size_t h, w, dim;
    int r, kk;
    const float* qp;
    const float* kp;
    const float* mask;  // (H, W) of this image, or null (unmasked kernel)

    bool in_band(long y, long x) const { return y >= r && y <= long(h) - 1 - r && x >= r && x <= long(w) - 1 - r; }
    bool searched(long y, long x) const { return in_band(y, x) && (!mask || mask[y * long(w) + x] > 0.5f); }
    bool valid(long y, long x) const {  // in the band (then inside the map) and, with a mask, a known pixel
        return in_band(y, x) && (!mask || mask[y * long(w) + x] < 0.5f);
    }
    float distance(size_t pix, long y, long x, float* sq) const {
        const float* a = kp + (size_t(y) * w + size_t(x)) * dim;
        const float* b = qp + pix * dim;
        for (size_t i = 0; i < dim; ++i) {
            const float diff = a[i] - b[i];
            sq[i] = diff * diff;
        }
        return pairwise_sum(sq, dim);
    }

    // offer candidates (cy, cx) in order to pixel pix's list (stable K-smallest of list + new, later copies of a
    // position already seen among finite entries dropped: _merge with dedup_from = K)
    void merge(Field& f, size_t pix, const long* cy, const long* cx, size_t n, float* sq) const {
        float* d = f.d.data() + pix * kk;
        int32_t* ey = f.y.data() + pix * kk;
        int32_t* ex = f.x.data() + pix * kk;
        long seen_y[64], seen_x[64];
        size_t seen = 0;
        for (int i = 0; i < kk; ++i)
            if (d[i] < kBig) seen_y[seen] = ey[i], seen_x[seen++] = ex[i];
        for (size_t c = 0; c < n; ++c) {
            if (!valid(cy[c], cx[c])) continue;
            bool dup = false;
            for (size_t s = 0; s < seen && !dup; ++s) dup = seen_y[s] == cy[c] && seen_x[s] == cx[c];
            if (dup) continue;
            seen_y[seen] = cy[c], seen_x[seen++] = cx[c];
            const float dc = distance(pix, cy[c], cx[c], sq);
            if (!(dc < d[kk - 1])) continue;
            int at = kk - 1;
            while (at > 0 && dc < d[at - 1]) {
                d[at] = d[at - 1], ey[at] = ey[at - 1], ex[at] = ex[at - 1];
                --at;
            }
            d[at] = dc, ey[at] = int32_t(cy[c]), ex[at] = int32_t(cx[c]);
        }
    }
};

std::vector<int> jump_steps(bool masked) { return masked ? std::vector<int>{1, 2, 4} : std::vector<int>{1, 2, 4, 8}; }

// the field (distance, y, x) of one image; the numpy path's knn_np
Field knn(const Search& s) {
    const size_t n = s.h * s.w, kk = size_t(s.kk);
    Field f{std::vector<float>(n * kk), std::vector<int32_t>(n * kk), std::vector<int32_t>(n * kk)};
    const int32_t* init = s.t.init.data();  // (A, 2, K, H, W)
    auto init_at = [&](int a, int coord, size_t k, size_t pix) { return init[((size_t(a) * 2 + coord) * kk + k) * n + pix]; };
    parallel_for(s.h, [&](size_t y) {
        std::vector<float> sq(s.dim);
        for (size_t x = 0; x < s.w; ++x) {
            const size_t pix = y * s.w + x;
            float* d = f.d.data() + pix * kk;
            int32_t* ey = f.y.data() + pix * kk;
            int32_t* ex = f.x.data() + pix * kk;
            if (!s.searched(long(y), long(x))) {  // not searched: cost 0, the first draws (unmasked) or itself (masked)
                for (size_t k = 0; k < kk; ++k) {
                    d[k] = 0.0f;
                    ey[k] = s.mask ? int32_t(y) : init_at(0, 0, k, pix);
                    ex[k] = s.mask ? int32_t(x) : init_at(0, 1, k, pix);
                }
                continue;
            }
            std::vector<size_t> order(kk);
            for (size_t k = 0; k < kk; ++k) {
                int a = 0;  // masked: the first attempt that is a known pixel, else the last attempt
                if (s.mask)
                    while (a < kInitAttempts - 1 && !s.valid(init_at(a, 0, k, pix), init_at(a, 1, k, pix))) ++a;
                ey[k] = init_at(a, 0, k, pix), ex[k] = init_at(a, 1, k, pix);
                d[k] = s.valid(ey[k], ex[k]) ? s.distance(pix, ey[k], ex[k], sq.data()) : kBig;
                order[k] = k;
            }
            std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return d[a] < d[b]; });
            std::vector<float> d0(d, d + kk);
            std::vector<int32_t> y0(ey, ey + kk), x0(ex, ex + kk);
            for (size_t k = 0; k < kk; ++k) d[k] = d0[order[k]], ey[k] = y0[order[k]], ex[k] = x0[order[k]];
        }
    });
    const std::vector<int> steps = jump_steps(s.mask != nullptr);
    std::vector<int32_t> best_y(n), best_x(n);
    for (int64_t it = 0; it < s.p.n_iters; ++it) {
        for (size_t pix = 0; pix < n; ++pix) best_y[pix] = f.y[pix * kk], best_x[pix] = f.x[pix * kk];
        const int32_t* off = s.t.search.data() + size_t(it) * s.t.radii * 2 * n;  // (radii, 2, H, W)
        parallel_for(s.h, [&](size_t y) {
            std::vector<float> sq(s.dim);
            long cy[64], cx[64];
            for (size_t x = 0; x < s.w; ++x) {
                if (!s.searched(long(y), long(x))) continue;
                const size_t pix = y * s.w + x;
                size_t m = 0;  // propagation: a searched neighbour n = u + delta offers its best match - delta
                for (int st : steps) {
                    const int deltas[4][2] = {{0, st}, {st, 0}, {0, -st}, {-st, 0}};
                    for (const auto& dl : deltas) {
                        const long ny = long(y) + dl[0], nx = long(x) + dl[1];
                        if (ny < 0 || nx < 0 || ny >= long(s.h) || nx >= long(s.w) || !s.searched(ny, nx)) continue;
                        cy[m] = best_y[ny * s.w + nx] - dl[0], cx[m++] = best_x[ny * s.w + nx] - dl[1];
                    }
                }
                s.merge(f, pix, cy, cx, m, sq.data());
                const long by = f.y[pix * kk], bx = f.x[pix * kk];  // random search around the best after propagation
                for (size_t z = 0; z < s.t.radii; ++z) {
                    cy[z] = by + off[(z * 2 + 0) * n + pix];
                    cx[z] = bx + off[(z * 2 + 1) * n + pix];
                }
                s.merge(f, pix, cy, cx, s.t.radii, sq.data());
            }
        });
    }
    return f;
}

// softmax(-cost / T) over n logits, then y = sum_i w_i v(target_i): the numpy path's output_np
void output(const Field& f, const float* v, float* out, size_t c, size_t h, size_t w, const PatchMatchParams& p) {
    const size_t n = h * w, kk = size_t(p.knn);
    const int r = int(p.patch_size / 2);
    parallel_for(h, [&](size_t y) {
        std::vector<float> logit, weight;
        std::vector<size_t> target;
        for (size_t x = 0; x < w; ++x) {
            logit.clear(), target.clear();
            const size_t pix = y * w + x;
            if (!p.aggregate) {
                for (size_t k = 0; k < kk; ++k) {
                    logit.push_back(-f.d[pix * kk + k] / p.temperature);
                    target.push_back(size_t(f.y[pix * kk + k]) * w + size_t(f.x[pix * kk + k]));
                }
            } else {  // every patch covering u (centre u + o) votes with each of its K matches, shifted back by o
                for (int oy = -r; oy <= r; ++oy)
                    for (int ox = -r; ox <= r; ++ox)
                        for (size_t k = 0; k < kk; ++k) {
                            const long sy = long(y) + oy, sx = long(x) + ox;
                            const bool inside = sy >= 0 && sx >= 0 && sy < long(h) && sx < long(w);
                            const size_t at = inside ? (size_t(sy) * w + size_t(sx)) * kk + k : 0;
                            logit.push_back(-(inside ? f.d[at] : kPadCost) / p.temperature);
                            const float ty = (inside ? float(f.y[at]) : kPadShift) - float(oy);
                            const float tx = (inside ? float(f.x[at]) : kPadShift) - float(ox);
                            const long cy = std::clamp(long(ty), 0L, long(h) - 1), cx = std::clamp(long(tx), 0L, long(w) - 1);
                            target.push_back(size_t(cy) * w + size_t(cx));
                        }
            }
            float mx = logit[0];
            for (float l : logit) mx = std::max(mx, l);
            weight.resize(logit.size());
            float sum = 0.0f;
            for (size_t i = 0; i < logit.size(); ++i) sum += weight[i] = std::exp(logit[i] - mx);
            for (float& wi : weight) wi /= sum;
            for (size_t ch = 0; ch < c; ++ch) {
                float acc = 0.0f;
                for (size_t i = 0; i < logit.size(); ++i) acc += v[ch * n + target[i]] * weight[i];
                out[ch * n + pix] = acc;
            }
        }
    });
}

}  // namespace

std::shared_ptr<const PatchMatchTables> make_tables(const PatchMatchParams& p, size_t h, size_t w) {
    auto t = std::make_shared<PatchMatchTables>();
    const int64_t r = p.patch_size / 2, n = int64_t(h * w), kk = p.knn;
    Pcg64 rng(uint64_t(p.seed));
    t->init.resize(size_t(kInitAttempts * 2 * kk * n));
    const size_t half = size_t(kInitAttempts * kk * n);  // all y draws (A, K, H, W), then all x draws
    for (size_t i = 0; i < half; ++i) t->init[(i / size_t(kk * n) * 2 + 0) * size_t(kk * n) + i % size_t(kk * n)] = int32_t(rng.integers(r, int64_t(h) - r));
    for (size_t i = 0; i < half; ++i) t->init[(i / size_t(kk * n) * 2 + 1) * size_t(kk * n) + i % size_t(kk * n)] = int32_t(rng.integers(r, int64_t(w) - r));
    // radii: wmax >> z for z < bit_length(wmax) - 1, which is what search_radii's float32 formula gives
    // (checked for every wmax up to 20,000)
    const size_t wmax = std::max(h, w);
    std::vector<int64_t> radii;
    for (size_t z = 0; (size_t(2) << z) <= wmax; ++z) radii.push_back(int64_t(wmax >> z));
    t->radii = radii.size();
    t->search.resize(size_t(p.n_iters) * radii.size() * 2 * size_t(n));
    size_t at = 0;
    for (int64_t it = 0; it < p.n_iters; ++it)
        for (int64_t rad : radii)
            for (int64_t i = 0; i < 2 * n; ++i) t->search[at++] = int32_t(rng.integers(-rad, rad));
    return t;
}

void patchmatch_f32(const float* q, const float* k, const float* v, const float* mask, float* y, size_t batch,
                    size_t cm, size_t c, size_t h, size_t w, const PatchMatchParams& p, const PatchMatchTables& t) {
    const size_t n = h * w;
    for (size_t b = 0; b < batch; ++b) {
        const std::vector<float> qp = patches(q + b * cm * n, cm, h, w, int(p.patch_size));
        const std::vector<float> kp = patches(k + b * cm * n, cm, h, w, int(p.patch_size));
        const Search s{p, t, h, w, cm * size_t(p.patch_size * p.patch_size), int(p.patch_size / 2), int(p.knn),
                       qp.data(), kp.data(), p.masked ? mask + b * n : nullptr};
        const Field f = knn(s);
        output(f, v + b * c * n, y + b * c * n, c, h, w, p);
    }
}

}  // namespace edgeattn
