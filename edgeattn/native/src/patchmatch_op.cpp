// The OpenVINO op around the PatchMatch kernel: attributes, shape inference, the per-size table cache.
#include <string>

#include "patchmatch.hpp"
#include "tensor_f32.hpp"

namespace edgeattn {

PatchMatch::PatchMatch(const ov::OutputVector& args, const PatchMatchParams& params) : Op(args), p_(params) {
    constructor_validate_and_infer_types();
}

void PatchMatch::validate_and_infer_types() {
    NODE_VALIDATION_CHECK(this, get_input_size() == 4, "EdgeAttnPatchMatch takes q, k, v, mask; got ",
                          get_input_size(), " inputs");
    NODE_VALIDATION_CHECK(this, plugin_version_ == "2", "EdgeAttnPatchMatch plugin_version \"", plugin_version_,
                          "\" is not supported by this library (it implements version 2)");
    NODE_VALIDATION_CHECK(this, p_.knn >= 1 && p_.knn <= 32, "EdgeAttnPatchMatch knn must be in [1, 32], got ",
                          p_.knn);
    NODE_VALIDATION_CHECK(this, p_.patch_size >= 1 && p_.patch_size % 2 == 1,
                          "EdgeAttnPatchMatch patch_size must be odd and positive, got ", p_.patch_size);
    NODE_VALIDATION_CHECK(this, p_.n_iters >= 0 && p_.seed >= 0 && p_.temperature > 0.0f,
                          "EdgeAttnPatchMatch needs n_iters >= 0, seed >= 0 and temperature > 0");
    for (size_t i = 0; i < 4; ++i) {
        const auto& et = get_input_element_type(i);
        NODE_VALIDATION_CHECK(this, et.is_dynamic() || is_float_type(et), "EdgeAttnPatchMatch input ", i,
                              " must be f32 (or f16/bf16), got ", et);
        const auto& ps = get_input_partial_shape(i);
        NODE_VALIDATION_CHECK(this, ps.rank().is_dynamic() || ps.rank().get_length() == 4, "EdgeAttnPatchMatch input ",
                              i, " must be rank 4 (B, C, H, W), got ", ps);
    }
    set_output_type(0, get_input_element_type(2), get_input_partial_shape(2));
}

std::shared_ptr<ov::Node> PatchMatch::clone_with_new_inputs(const ov::OutputVector& new_args) const {
    auto op = std::make_shared<PatchMatch>();
    op->p_ = p_;
    op->plugin_version_ = plugin_version_;
    op->plugin_namespace_ = plugin_namespace_;
    op->set_arguments(new_args);
    op->validate_and_infer_types();
    return op;
}

bool PatchMatch::visit_attributes(ov::AttributeVisitor& visitor) {
    visitor.on_attribute("knn", p_.knn);
    visitor.on_attribute("patch_size", p_.patch_size);
    visitor.on_attribute("n_iters", p_.n_iters);
    visitor.on_attribute("temperature", p_.temperature);
    visitor.on_attribute("aggregate", p_.aggregate);
    visitor.on_attribute("seed", p_.seed);
    visitor.on_attribute("masked", p_.masked);
    visitor.on_attribute("plugin_version", plugin_version_);
    visitor.on_attribute("plugin_namespace", plugin_namespace_);
    return true;
}

bool PatchMatch::has_evaluate() const {
    return is_float_type(get_input_element_type(0));
}

std::shared_ptr<const PatchMatchTables> PatchMatch::tables(size_t h, size_t w) const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto& slot = cache_[{h, w}];
    if (!slot) slot = make_tables(p_, h, w);
    return slot;
}

bool PatchMatch::evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const {
    const ov::Shape& qs = inputs[0].get_shape();
    const ov::Shape& vs = inputs[2].get_shape();
    const ov::Shape& ms = inputs[3].get_shape();
    const bool agree = qs.size() == 4 && vs.size() == 4 && inputs[1].get_shape() == qs && qs[0] == vs[0] &&
                       qs[2] == vs[2] && qs[3] == vs[3] && ms == ov::Shape({vs[0], 1, vs[2], vs[3]});
    OPENVINO_ASSERT(agree, "EdgeAttnPatchMatch: q, k (B, Cm, H, W), v (B, C, H, W) and mask (B, 1, H, W) disagree: q ", qs,
                    ", k ", inputs[1].get_shape(), ", v ", vs, ", mask ", ms);
    const size_t h = vs[2], w = vs[3];
    OPENVINO_ASSERT(h >= size_t(p_.patch_size) && w >= size_t(p_.patch_size), "EdgeAttnPatchMatch with patch_size=",
                    p_.patch_size, " needs a feature map of at least ", p_.patch_size, "x", p_.patch_size, ", got ", h,
                    "x", w);
    outputs[0].set_shape(vs);
    std::vector<float> bq, bk, bv, bm, by;
    patchmatch_f32(f32_data(inputs[0], bq), f32_data(inputs[1], bk), f32_data(inputs[2], bv),
                   f32_data(inputs[3], bm), f32_out(outputs[0], by), vs[0], qs[1], vs[1], h, w, p_, *tables(h, w));
    store_f32(outputs[0], by);
    return true;
}

}  // namespace edgeattn
