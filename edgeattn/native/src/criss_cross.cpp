// Criss-cross attention (CCNet, Huang et al. ICCV 2019, eq. 1-2): for pixel u = (y, x), energies e_i = q_u . k_i
// over u's column (without u itself) and row, one softmax over those H + W - 1 energies, y_u = sum_i A_i v_i.
//
// Tiling: a task is one row segment (b, y, x0 .. x0 + nx); it holds the energies of those nx pixels only,
// (W + H) x nx floats, laid out [key][pixel] so every inner loop runs over contiguous pixels of NCHW rows and
// vectorises. The (B, H, W, H + W - 1) energy tensor of the whole map never exists. Tasks run on TBB.
#include "criss_cross.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "common.hpp"
#include "tensor_f32.hpp"

namespace edgeattn {

namespace {

constexpr size_t kTile = 64;  // pixels per task: a 64-float row of every energy fits one or two cache lines

EDGEATTN_CLONES
void row_segment(const float* q, const float* k, const float* v, float* out, size_t ck, size_t c, size_t h,
                 size_t w, size_t y, size_t x0, size_t nx, float* er, float* ec, float* m, float* den) {
    const size_t hw = h * w;
    std::fill(er, er + w * nx, 0.0f);  // er[j * nx + i]: pixel x0 + i against key (y, j)
    std::fill(ec, ec + h * nx, 0.0f);  // ec[r * nx + i]: pixel x0 + i against key (r, x0 + i)
    for (size_t ch = 0; ch < ck; ++ch) {
        const float* qr = q + ch * hw + y * w + x0;
        const float* kr = k + ch * hw + y * w;
        for (size_t j = 0; j < w; ++j) {
            const float kj = kr[j];
            float* e = er + j * nx;
            for (size_t i = 0; i < nx; ++i) e[i] += qr[i] * kj;
        }
        for (size_t r = 0; r < h; ++r) {
            const float* kc = k + ch * hw + r * w + x0;
            float* e = ec + r * nx;
            for (size_t i = 0; i < nx; ++i) e[i] += qr[i] * kc[i];
        }
    }
    // one softmax over row and column; the centre is counted once (in the row), so the column skips r == y
    std::fill(m, m + nx, -std::numeric_limits<float>::infinity());
    for (size_t j = 0; j < w; ++j)
        for (size_t i = 0; i < nx; ++i) m[i] = std::max(m[i], er[j * nx + i]);
    for (size_t r = 0; r < h; ++r) {
        if (r == y) continue;
        for (size_t i = 0; i < nx; ++i) m[i] = std::max(m[i], ec[r * nx + i]);
    }
    std::fill(den, den + nx, 0.0f);
    for (size_t j = 0; j < w; ++j) {
        float* e = er + j * nx;
        for (size_t i = 0; i < nx; ++i) {
            e[i] = exp_nonpositive(e[i] - m[i]);
            den[i] += e[i];
        }
    }
    for (size_t r = 0; r < h; ++r) {
        float* e = ec + r * nx;
        if (r == y) {
            std::fill(e, e + nx, 0.0f);
            continue;
        }
        for (size_t i = 0; i < nx; ++i) {
            e[i] = exp_nonpositive(e[i] - m[i]);
            den[i] += e[i];
        }
    }
    for (size_t i = 0; i < nx; ++i) den[i] = 1.0f / den[i];
    // aggregation, normalised once at the end: out = (P_row v_row + P_col v_col) / den
    for (size_t ch = 0; ch < c; ++ch) {
        float* o = out + ch * hw + y * w + x0;
        const float* vr = v + ch * hw + y * w;
        std::fill(o, o + nx, 0.0f);
        for (size_t j = 0; j < w; ++j) {
            const float vj = vr[j];
            const float* e = er + j * nx;
            for (size_t i = 0; i < nx; ++i) o[i] += e[i] * vj;
        }
        for (size_t r = 0; r < h; ++r) {
            const float* vc = v + ch * hw + r * w + x0;
            const float* e = ec + r * nx;
            for (size_t i = 0; i < nx; ++i) o[i] += e[i] * vc[i];
        }
        for (size_t i = 0; i < nx; ++i) o[i] *= den[i];
    }
}

}  // namespace

void criss_cross_f32(const float* q, const float* k, const float* v, float* y, size_t batch, size_t ck, size_t c,
                     size_t h, size_t w) {
    const size_t tiles_x = (w + kTile - 1) / kTile;
    const size_t hw = h * w;
    parallel_for(batch * h * tiles_x, [&](size_t task) {
        const size_t b = task / (h * tiles_x), row = task / tiles_x % h, x0 = task % tiles_x * kTile;
        const size_t nx = std::min(kTile, w - x0);
        thread_local std::vector<float> scratch;
        scratch.resize((w + h + 2) * nx);
        float* er = scratch.data();
        float* ec = er + w * nx;
        float* m = ec + h * nx;
        row_segment(q + b * ck * hw, k + b * ck * hw, v + b * c * hw, y + b * c * hw, ck, c, h, w, row, x0, nx,
                    er, ec, m, m + nx);
    });
}

CrissCross::CrissCross(const ov::OutputVector& args) : Op(args) {
    constructor_validate_and_infer_types();
}

void CrissCross::validate_and_infer_types() {
    NODE_VALIDATION_CHECK(this, get_input_size() == 3, "EdgeAttnCrissCross takes q, k, v; got ", get_input_size(),
                          " inputs");
    NODE_VALIDATION_CHECK(this, plugin_version_ == "1", "EdgeAttnCrissCross plugin_version \"", plugin_version_,
                          "\" is not supported by this library (it implements version 1)");
    for (size_t i = 0; i < 3; ++i) {
        const auto& et = get_input_element_type(i);
        NODE_VALIDATION_CHECK(this, et.is_dynamic() || is_float_type(et), "EdgeAttnCrissCross input ", i,
                              " must be f32 (or f16/bf16), got ", et);
        const auto& ps = get_input_partial_shape(i);
        NODE_VALIDATION_CHECK(this, ps.rank().is_dynamic() || ps.rank().get_length() == 4, "EdgeAttnCrissCross input ",
                              i, " must be (B, C, H, W), got ", ps);
    }
    set_output_type(0, get_input_element_type(2), get_input_partial_shape(2));
}

std::shared_ptr<ov::Node> CrissCross::clone_with_new_inputs(const ov::OutputVector& new_args) const {
    auto op = std::make_shared<CrissCross>();
    op->plugin_version_ = plugin_version_;
    op->plugin_namespace_ = plugin_namespace_;
    op->set_arguments(new_args);
    op->validate_and_infer_types();
    return op;
}

bool CrissCross::visit_attributes(ov::AttributeVisitor& visitor) {
    visitor.on_attribute("plugin_version", plugin_version_);
    visitor.on_attribute("plugin_namespace", plugin_namespace_);
    return true;
}

bool CrissCross::has_evaluate() const {
    return is_float_type(get_input_element_type(0));
}

bool CrissCross::evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const {
    const ov::Shape& qs = inputs[0].get_shape();
    const ov::Shape& vs = inputs[2].get_shape();
    OPENVINO_ASSERT(qs.size() == 4 && vs.size() == 4 && inputs[1].get_shape() == qs && qs[0] == vs[0] &&
                        qs[2] == vs[2] && qs[3] == vs[3],
                    "EdgeAttnCrissCross: q, k (B, C', H, W) and v (B, C, H, W) disagree: q ", qs, ", k ",
                    inputs[1].get_shape(), ", v ", vs);
    outputs[0].set_shape(vs);
    std::vector<float> bq, bk, bv, by;
    criss_cross_f32(f32_data(inputs[0], bq), f32_data(inputs[1], bk), f32_data(inputs[2], bv),
                    f32_out(outputs[0], by), vs[0], qs[1], vs[1], vs[2], vs[3]);
    store_f32(outputs[0], by);
    return true;
}

}  // namespace edgeattn
