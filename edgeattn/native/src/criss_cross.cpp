// The OpenVINO op around the criss-cross kernel (criss_cross_kernel.cpp): attributes, shape inference, evaluate.
#include "criss_cross.hpp"

#include <vector>

#include "tensor_f32.hpp"

namespace edgeattn {

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
