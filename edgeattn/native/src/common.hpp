// Helpers shared by the edgeattn kernels: threading over the caller's TBB arena, a vectorisable exp, x86 clones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace edgeattn {

// Hot loops are compiled for several x86 levels and picked at load time (ifunc), so one library runs on any
// x86-64 CPU and still uses AVX2/AVX-512 where present; ARM64's baseline already has NEON.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGEATTN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EDGEATTN_CLONES
#endif

// Runs fn(i) for i in [0, n) on the current TBB arena. Inside OpenVINO's CPU plugin that is the stream's arena,
// whose size is INFERENCE_NUM_THREADS, so the kernels use exactly the threads the model was compiled with.
template <typename F>
void parallel_for(size_t n, const F& fn) {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n), [&](const tbb::blocked_range<size_t>& r) {
        for (size_t i = r.begin(); i != r.end(); ++i) fn(i);
    });
}

// exp(r) for |r| <= ln2/2 by its degree-7 Taylor polynomial (error < 1e-8), Horner from `p` = 1/5040 in r's type:
// one body for the scalar exp below and the vector one of the criss-cross kernel (float or a GCC vector type)
template <class T>
__attribute__((always_inline)) inline T exp_reduced(T r, T p) {
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    return p * r + 1.0f;
}

// exp(x) for x <= 0 (softmax after subtracting the maximum), ~1 ulp; plain arithmetic so loops vectorise.
// x = n ln2 + r, |r| <= ln2/2; exp(r) by exp_reduced, 2^n by the exponent bits.
inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    const int n = static_cast<int>(x * 1.44269504f - 0.5f);  // round half away from zero (x <= 0)
    const float fn = static_cast<float>(n);
    const float r = (x - fn * 0.693359375f) + fn * 2.12194440e-4f;  // ln2 = hi - lo, hi with few bits: fn*hi exact
    const float p = exp_reduced(r, 1.0f / 5040.0f);
    const int32_t bits = (n + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

}  // namespace edgeattn
