// numpy's default generator, reproduced: np.random.default_rng(seed) (SeedSequence -> PCG64, XSL-RR output) and
// Generator.integers(low, high) for int64 ranges below 2^32 (Lemire's bounded draw on 32-bit halves). The
// PatchMatch tables (edgeattn/ops/patchmatch.py: patchmatch_tables) are drawn from this stream, so the compiled
// kernel searches with the very numbers the numpy and PyTorch paths use. Written from numpy's documented
// algorithms (SeedSequence's hash mixing, PCG64's 128-bit LCG, Lemire 2019) and checked against numpy by the tests.
#pragma once

#include <cstdint>
#include <vector>

namespace edgeattn {

class Pcg64 {
public:
    explicit Pcg64(uint64_t seed) {
        const std::vector<uint32_t> words = seed_sequence(seed, 8);
        uint64_t v[4];
        for (int i = 0; i < 4; ++i) v[i] = uint64_t(words[2 * i]) | (uint64_t(words[2 * i + 1]) << 32);
        const u128 initstate = (u128(v[0]) << 64) | v[1];
        const u128 initseq = (u128(v[2]) << 64) | v[3];
        inc_ = (initseq << 1) | 1u;
        state_ = 0;
        step();
        state_ += initstate;
        step();
    }

    uint64_t next64() {
        step();
        const uint64_t x = uint64_t(state_ >> 64) ^ uint64_t(state_);
        const unsigned rot = unsigned(state_ >> 122);
        return (x >> rot) | (x << ((64u - rot) & 63u));
    }

    // numpy hands out a 64-bit draw as two 32-bit draws, low half first
    uint32_t next32() {
        if (has_half_) {
            has_half_ = false;
            return half_;
        }
        const uint64_t x = next64();
        has_half_ = true;
        half_ = uint32_t(x >> 32);
        return uint32_t(x);
    }

    // Generator.integers(low, high): uniform in [low, high - 1]; high - low - 1 must be < 2^32 - 1
    int64_t integers(int64_t low, int64_t high) {
        const uint32_t rng = uint32_t(high - 1 - low);
        if (rng == 0) return low;
        const uint32_t excl = rng + 1;
        uint64_t m = uint64_t(next32()) * excl;
        uint32_t left = uint32_t(m);
        if (left < excl) {
            const uint32_t threshold = (UINT32_MAX - rng) % excl;
            while (left < threshold) {
                m = uint64_t(next32()) * excl;
                left = uint32_t(m);
            }
        }
        return low + int64_t(m >> 32);
    }

private:
    using u128 = unsigned __int128;
    static constexpr u128 kMult = (u128(2549297995355413924ULL) << 64) | 4865540595714422341ULL;

    void step() { state_ = state_ * kMult + inc_; }

    // numpy.random.SeedSequence(seed).generate_state(n_words) for one non-negative integer seed
    static std::vector<uint32_t> seed_sequence(uint64_t seed, size_t n_words) {
        std::vector<uint32_t> entropy;
        if (seed == 0) entropy.push_back(0);
        for (; seed > 0; seed >>= 32) entropy.push_back(uint32_t(seed));
        uint32_t hash_const = 0x43b0d7e5u;
        auto hashmix = [&hash_const](uint32_t value) {
            value ^= hash_const;
            hash_const *= 0x931e8875u;
            value *= hash_const;
            return value ^ (value >> 16);
        };
        auto mix = [](uint32_t x, uint32_t y) {
            uint32_t r = 0xca01f9ddu * x - 0x4973f715u * y;
            return r ^ (r >> 16);
        };
        uint32_t pool[4];
        for (size_t i = 0; i < 4; ++i) pool[i] = hashmix(i < entropy.size() ? entropy[i] : 0u);
        for (size_t src = 0; src < 4; ++src)
            for (size_t dst = 0; dst < 4; ++dst)
                if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
        for (size_t src = 4; src < entropy.size(); ++src)
            for (size_t dst = 0; dst < 4; ++dst) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
        std::vector<uint32_t> out(n_words);
        uint32_t hb = 0x8b51f9ddu;
        for (size_t i = 0; i < n_words; ++i) {
            uint32_t value = pool[i % 4] ^ hb;
            hb *= 0x58f38dedu;
            value *= hb;
            out[i] = value ^ (value >> 16);
        }
        return out;
    }

    u128 state_ = 0, inc_ = 0;
    bool has_half_ = false;
    uint32_t half_ = 0;
};

}  // namespace edgeattn
