// edgeattn::EdgeAttnCrissCross as an OpenVINO op with a compiled kernel (contract: edgeattn/ops/criss_cross.py).
#pragma once

#include <openvino/op/op.hpp>

namespace edgeattn {

class CrissCross : public ov::op::Op {
public:
    OPENVINO_OP("EdgeAttnCrissCross", "edgeattn");

    CrissCross() = default;
    explicit CrissCross(const ov::OutputVector& args);

    void validate_and_infer_types() override;
    std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& new_args) const override;
    bool visit_attributes(ov::AttributeVisitor& visitor) override;
    bool has_evaluate() const override;
    bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override;

private:
    std::string plugin_version_ = "1";
    std::string plugin_namespace_ = "edgeattn";
};

// y (B, C, H, W) = criss-cross attention of q, k (B, Ck, H, W) and v (B, C, H, W); all NCHW float32.
void criss_cross_f32(const float* q, const float* k, const float* v, float* y, size_t batch, size_t ck, size_t c,
                     size_t h, size_t w);

}  // namespace edgeattn
