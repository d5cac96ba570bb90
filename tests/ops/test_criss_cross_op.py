"""edgeattn::EdgeAttnCrissCross: PyTorch vs ReferenceEvaluator vs ONNX Runtime vs OpenVINO, custom vs standard."""

import numpy as np
import pytest
import torch

from edgeattn.nn import CrissCrossAttention
from edgeattn.ops import enable_custom_ops
from edgeattn.ops.criss_cross import OP_TYPE, CrissCrossOpAttention, criss_cross_np, criss_cross_torch
from edgeattn.parity import tolerance_for

from ._graphs import RUNTIMES, attrs, custom_nodes, export_to, run


def _block(channels=32):
    m = CrissCrossAttention(channels, recurrence=2).eval()
    with torch.no_grad():
        m.gamma.fill_(0.8)  # CCNet starts gamma at 0, which would hide the attention entirely
    return m


@pytest.mark.parametrize("size", [(7, 9), (1, 5), (6, 1), (1, 1)])
def test_fast_numpy_kernel_matches_the_numpy_reference(size):
    from edgeattn.ops.criss_cross import criss_cross_np_fast

    q, k, v = (np.random.default_rng(i).standard_normal(s, dtype=np.float32) * 3
               for i, s in enumerate([(2, 4, *size), (2, 4, *size), (2, 16, *size)]))
    want = criss_cross_np(q, k, v)
    assert np.abs(criss_cross_np_fast(q, k, v) - want).max() <= 1e-5 * max(1.0, np.abs(want).max())


def test_numpy_reference_matches_torch_and_the_layer():
    q, k, v = torch.randn(2, 4, 7, 9), torch.randn(2, 4, 7, 9), torch.randn(2, 32, 7, 9)
    assert np.abs(criss_cross_torch(q, k, v).numpy() - criss_cross_np(q.numpy(), k.numpy(), v.numpy())).max() < 1e-5
    m = _block()
    x = torch.randn(2, 32, 7, 9)
    wrapped = torch.nn.Sequential(m)
    with torch.no_grad():
        want = m(x)
        assert enable_custom_ops(wrapped) == 1 and isinstance(wrapped[0], CrissCrossOpAttention)
        assert (wrapped(x) - want).abs().max() < 1e-5
    assert wrapped.state_dict().keys() == torch.nn.Sequential(m).state_dict().keys()


@pytest.mark.parametrize("size", [(9, 11), (16, 6)])
def test_custom_graph_matches_pytorch_on_every_runtime_and_the_standard_graph(tmp_path, size):
    m = _block()
    inputs = {"x": torch.randn(1, 32, *size)}
    with torch.no_grad():
        want = m(inputs["x"]).numpy()
    export_to(tmp_path / "standard", torch.nn.Sequential(m), inputs, custom=False, ir=False)
    wrapped = torch.nn.Sequential(m)
    enable_custom_ops(wrapped)
    custom = export_to(tmp_path / "custom", wrapped, inputs, custom=True)

    nodes = custom_nodes(custom)
    assert [n.op_type for n in nodes] == [OP_TYPE, OP_TYPE]  # one node per recurrence
    types = [n.op_type for n in custom.graph.node]
    assert "Conv" not in types and types.count("MatMul") == 2  # q, k, v: one planar GEMM per pass
    assert attrs(nodes[0]) == {"plugin_version": b"1", "plugin_namespace": b"edgeattn"}

    for rt in RUNTIMES:
        got = run(rt, tmp_path / "custom", inputs)
        assert abs(got - want).max() <= tolerance_for("fp32", rt).max_abs, rt
    on_standard = run("ort", tmp_path / "standard", inputs)
    on_custom = run("ort", tmp_path / "custom", inputs)
    assert abs(on_standard - on_custom).max() <= tolerance_for("fp32", "ort").max_abs


@pytest.mark.parametrize("size", [(9, 11), (1, 6), (5, 1)])
def test_openvino_decomposes_the_node_into_native_ops(size):
    """OpenVINO reads the node as native ops (no Python callback, no extension needed for the IR); the Python
    numpy op stays available as the functional reference and both agree with the numpy reference."""
    import tempfile
    from pathlib import Path

    import onnx
    import openvino as ov

    from edgeattn.ops.criss_cross import openvino_conversion_extension, openvino_python_conversion_extension

    q, k, v = (np.random.default_rng(i).standard_normal(s, dtype=np.float32)
               for i, s in enumerate([(1, 4, *size), (1, 4, *size), (1, 16, *size)]))
    node = onnx.helper.make_node(OP_TYPE, ["q", "k", "v"], ["y"], domain="edgeattn",
                                 plugin_version="1", plugin_namespace="edgeattn")
    io = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, a.shape) for n, a in zip("qkv", (q, k, v))]
    graph = onnx.helper.make_graph([node], "cc", io, [onnx.helper.make_tensor_value_info("y", 1, v.shape)])
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17),
                                                          onnx.helper.make_opsetid("edgeattn", 1)])
    want = criss_cross_np(q, k, v)
    core = ov.Core()
    for ext, native in ((openvino_conversion_extension(), True), (openvino_python_conversion_extension(), False)):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.onnx"
            path.write_bytes(proto.SerializeToString())
            model = ov.convert_model(str(path), extension=[ext])
        types = {op.get_type_name() for op in model.get_ops()}
        assert (OP_TYPE not in types) == native and ("MatMul" in types) == native
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        got = compiled({"q": q, "k": k, "v": v})[compiled.output(0)]
        assert np.abs(got - want).max() <= tolerance_for("fp32", "openvino").max_abs


def test_projection_is_the_three_convs_with_or_without_bias_and_falls_back_for_other_convs():
    """The stacked q/k/v GEMM computes the module's own 1x1 convs (a conv without bias counts as zero bias,
    batch > 1, non-square); a conv that is not a plain 1x1 conv keeps the convs (no stacked weight)."""
    x = torch.randn(3, 32, 5, 7)
    m = _block()
    m.key_conv = torch.nn.Conv2d(32, 4, 1, bias=False)
    op = CrissCrossOpAttention(m)
    assert op._projection() is not None
    with torch.no_grad():
        want = x
        for _ in range(2):
            want = m.gamma * criss_cross_torch(m.query_conv(want), m.key_conv(want), m.value_conv(want)) + want
        assert (op(x) - want).abs().max() < 1e-5
        m.value_conv = torch.nn.Conv2d(32, 32, 3, padding=1)
        op = CrissCrossOpAttention(m)
        assert op._projection() is None
        want = m.gamma * criss_cross_torch(m.query_conv(x), m.key_conv(x), m.value_conv(x)) + x
        want = m.gamma * criss_cross_torch(m.query_conv(want), m.key_conv(want), m.value_conv(want)) + want
        assert (op(x) - want).abs().max() < 1e-5
