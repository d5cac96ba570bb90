// edgeattn::EdgeAttnPatchMatch (version 2) as an OpenVINO op with a compiled kernel
// (contract and equations: edgeattn/ops/patchmatch.py, docs/patchmatch-custom-ops.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <openvino/op/op.hpp>

namespace edgeattn {

struct PatchMatchParams {
    int64_t knn = 3;
    int64_t patch_size = 3;
    int64_t n_iters = 5;
    float temperature = 1.0f;
    int64_t aggregate = 0;
    int64_t seed = 0;
    int64_t masked = 0;
};

// The random tables of edgeattn.ops.patchmatch.patchmatch_tables for one size, in the same layout:
// init (INIT_ATTEMPTS, 2, K, H, W), search (n_iters, radii, 2, H, W), as integers.
struct PatchMatchTables {
    std::vector<int32_t> init, search;
    size_t radii = 0;
};

std::shared_ptr<const PatchMatchTables> make_tables(const PatchMatchParams& p, size_t h, size_t w);

// y (B, C, H, W) = PSAL attention of v with the field PatchMatch finds for q against k (B, Cm, H, W);
// mask (B, 1, H, W), 1 = hole, read only when p.masked.
void patchmatch_f32(const float* q, const float* k, const float* v, const float* mask, float* y, size_t batch,
                    size_t cm, size_t c, size_t h, size_t w, const PatchMatchParams& p, const PatchMatchTables& t);

class PatchMatch : public ov::op::Op {
public:
    OPENVINO_OP("EdgeAttnPatchMatch", "edgeattn");

    PatchMatch() = default;
    PatchMatch(const ov::OutputVector& args, const PatchMatchParams& params);

    void validate_and_infer_types() override;
    std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& new_args) const override;
    bool visit_attributes(ov::AttributeVisitor& visitor) override;
    bool has_evaluate() const override;
    bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override;

private:
    std::shared_ptr<const PatchMatchTables> tables(size_t h, size_t w) const;

    PatchMatchParams p_;
    std::string plugin_version_ = "2";
    std::string plugin_namespace_ = "edgeattn";
    mutable std::mutex cache_mutex_;
    mutable std::map<std::pair<size_t, size_t>, std::shared_ptr<const PatchMatchTables>> cache_;
};

}  // namespace edgeattn
