// The kernels compute in f32. OpenVINO may hand them f16 or bf16 tensors: with INFERENCE_PRECISION_HINT=f16 (the
// default on ARM CPUs) the CPU plugin converts the whole graph, custom ops' inputs included. Those are converted to
// f32 here and the result back, so a bundle runs at any precision hint (f32 is what edgeattn verifies with).
#pragma once

#include <vector>

#include <openvino/core/type/bfloat16.hpp>
#include <openvino/core/type/element_type.hpp>
#include <openvino/core/type/float16.hpp>
#include <openvino/runtime/tensor.hpp>

namespace edgeattn {

inline bool is_float_type(const ov::element::Type& t) {
    return t == ov::element::f32 || t == ov::element::f16 || t == ov::element::bf16;
}

// f32 data of `t`: the tensor's own for f32, else a converted copy in `buf`
inline const float* f32_data(const ov::Tensor& t, std::vector<float>& buf) {
    const auto type = t.get_element_type();
    if (type == ov::element::f32) return t.data<const float>();
    buf.resize(t.get_size());
    if (type == ov::element::f16) {
        const auto* src = t.data<const ov::float16>();
        for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(src[i]);
    } else {
        const auto* src = t.data<const ov::bfloat16>();
        for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(src[i]);
    }
    return buf.data();
}

// where the kernel writes: the output tensor itself for f32, else `buf` (then store_f32)
inline float* f32_out(ov::Tensor& t, std::vector<float>& buf) {
    if (t.get_element_type() == ov::element::f32) return t.data<float>();
    buf.resize(t.get_size());
    return buf.data();
}

inline void store_f32(ov::Tensor& t, const std::vector<float>& buf) {
    const auto type = t.get_element_type();
    if (type == ov::element::f16) {
        auto* dst = t.data<ov::float16>();
        for (size_t i = 0; i < buf.size(); ++i) dst[i] = ov::float16(buf[i]);
    } else if (type == ov::element::bf16) {
        auto* dst = t.data<ov::bfloat16>();
        for (size_t i = 0; i < buf.size(); ++i) dst[i] = ov::bfloat16(buf[i]);
    }
}

}  // namespace edgeattn
