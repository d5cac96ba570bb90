// The library's entry point: OpenVINO op extensions (so IRs holding the ops load) and ONNX frontend mappings of
// the `edgeattn` domain (the domain must be named: a domain-less mapping does not match custom-domain nodes).
#include <openvino/core/extension.hpp>
#include <openvino/core/op_extension.hpp>
#include <openvino/frontend/onnx/extension/op.hpp>

#include "criss_cross.hpp"
#include "patchmatch.hpp"

OPENVINO_CREATE_EXTENSIONS(std::vector<ov::Extension::Ptr>({
    std::make_shared<ov::OpExtension<edgeattn::CrissCross>>(),
    std::make_shared<ov::OpExtension<edgeattn::PatchMatch>>(),
    std::make_shared<ov::frontend::onnx::OpExtension<edgeattn::CrissCross>>("EdgeAttnCrissCross", "edgeattn"),
    std::make_shared<ov::frontend::onnx::OpExtension<edgeattn::PatchMatch>>("EdgeAttnPatchMatch", "edgeattn"),
}));
