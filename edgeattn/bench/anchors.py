"""Anchors: what a user could run instead of edgeattn's export paths, timed beside them.

* `CCNetCrissCross` / `CCNetRCCA`: criss-cross attention written the way CCNet's public pure-PyTorch
  module is written (github.com/speedinghzl/CCNet, `cc_attention`; written here, not copied): 1x1 convs in
  (B, C, H, W), columns and rows as `bmm` batches of B*W and B*H, a -inf diagonal built with `torch.diag` and
  repeated over the B*W column batches, one Softmax over the concatenated (B, H, W, H+W) energies, and RCCA's
  loop of R passes with shared weights. Parameter names are CCNet's, so the state dict of
  `edgeattn.nn.CrissCrossAttention` loads unchanged and both compute the same function.
* `ConvPair`: a plain 3x3 depthwise + 1x1 pointwise convolution of the same channels (the LGA anchor).
* Routes a user would take with such a module: ONNX by the TorchScript exporter, ONNX by the dynamo
  exporter (opset 18, the lowest it implements), OpenVINO's own PyTorch frontend (`openvino.convert_model`
  on the module and on a `torch.export` program), PyTorch eager and `torch.compile`. Each route returns a
  `Step` or raises; the goal runner records a route that fails as failed (with its reason), it never
  drops it silently.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

__all__ = ["CCNetCrissCross", "CCNetRCCA", "ConvPair", "Step", "onnx_route", "runtime_step",
           "openvino_direct_step", "torch_step", "gemm_floor", "floor_step", "ONNX_ROUTES", "OPENVINO_DIRECT_ROUTES"]

#: exporter -> opset a user would ask of it (the dynamo exporter implements opset >= 18 only)
ONNX_ROUTES = {"torchscript": 17, "dynamo": 18}
#: how OpenVINO's own PyTorch frontend is fed
OPENVINO_DIRECT_ROUTES = ("ov.convert_model(module)", "ov.convert_model(torch.export)")


@dataclass
class Step:
    """One inference (`run()`), and `close()` to release the runtime."""

    run: Callable[[], object]
    close: Callable[[], None] = lambda: None


def _neg_inf_diag(b: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    # CCNet masks the centre in the column energies with a (B*W, H, H) stack of -inf diagonals.
    diag = torch.diag(torch.tensor(float("-inf"), dtype=like.dtype, device=like.device).repeat(h), 0)
    return diag.unsqueeze(0).repeat(b * w, 1, 1)


class CCNetCrissCross(nn.Module):
    """One criss-cross pass in CCNet's pure-PyTorch style. x (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.query_conv = nn.Conv2d(channels, channels // reduction, 1)
        self.key_conv = nn.Conv2d(channels, channels // reduction, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.softmax = nn.Softmax(dim=3)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.size()
        q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
        q_h = q.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h).permute(0, 2, 1)  # (B*W, H, C')
        q_w = q.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w).permute(0, 2, 1)  # (B*H, W, C')
        k_h = k.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h)  # (B*W, C', H)
        k_w = k.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w)  # (B*H, C', W)
        v_h = v.permute(0, 3, 1, 2).contiguous().view(b * w, -1, h)  # (B*W, C, H)
        v_w = v.permute(0, 2, 1, 3).contiguous().view(b * h, -1, w)  # (B*H, C, W)
        e_h = (torch.bmm(q_h, k_h) + _neg_inf_diag(b, h, w, x)).view(b, w, h, h).permute(0, 2, 1, 3)  # (B, H, W, H)
        e_w = torch.bmm(q_w, k_w).view(b, h, w, w)  # (B, H, W, W)
        att = self.softmax(torch.cat([e_h, e_w], 3))  # (B, H, W, H+W)
        att_h = att[:, :, :, 0:h].permute(0, 2, 1, 3).contiguous().view(b * w, h, h)
        att_w = att[:, :, :, h : h + w].contiguous().view(b * h, w, w)
        out_h = torch.bmm(v_h, att_h.permute(0, 2, 1)).view(b, w, -1, h).permute(0, 2, 3, 1)  # (B, C, H, W)
        out_w = torch.bmm(v_w, att_w.permute(0, 2, 1)).view(b, h, -1, w).permute(0, 2, 1, 3)  # (B, C, H, W)
        return self.gamma * (out_h + out_w) + x


class CCNetRCCA(nn.Module):
    """RCCA's recurrence: the same `CCNetCrissCross` applied `recurrence` times (CCNet uses R=2).

    The pass's parameters sit at the top level (no `cca.` prefix) so that edgeattn's state dict loads as is.
    """

    def __init__(self, channels: int, recurrence: int = 2) -> None:
        super().__init__()
        self.recurrence = recurrence
        cca = CCNetCrissCross(channels)
        self.query_conv, self.key_conv, self.value_conv, self.gamma = (cca.query_conv, cca.key_conv,
                                                                       cca.value_conv, cca.gamma)
        self._cca = [cca]  # a plain list: not a submodule, so parameter names stay CCNet's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.recurrence):
            x = self._cca[0](x)
        return x


class ConvPair(nn.Module):
    """3x3 depthwise + 1x1 pointwise convolution, C -> C (with biases)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.pw = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Silence file descriptors 1 and 2 (the TorchScript exporter logs from C++, past sys.stdout/stderr);
    the exception still carries the message."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def onnx_route(module: nn.Module, example: tuple[torch.Tensor, ...], input_names: list[str], output_name: str,
               exporter: str, *, custom_opsets: dict[str, int] | None = None) -> onnx.ModelProto:
    """`module` exported by `exporter` at its usual opset, then simplified as edgeattn.export does (the same
    simplifier for every route, so the comparison is between formulations, not between simplifiers)."""
    from ..export.onnx import export_onnx
    from ..export.simplify import simplify

    with _quiet_fds():  # a failing TorchScript export prints its whole IR graph (from C++) before raising
        proto = export_onnx(module.eval(), example, input_names=input_names, output_name=output_name,
                            opset=ONNX_ROUTES[exporter], dynamic=False, exporter=exporter,
                            custom_opsets=custom_opsets)
    return simplify(proto, "onnxslim")


def gemm_floor(proto: onnx.ModelProto, seed: int = 0) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The GEMMs of a static-shape graph alone: every MatMul and Gemm node of `proto`, with the same shapes,
    attributes and weight initializers, fed by graph inputs instead of the tensors around it. Each product is
    cut to one element by a Slice (an output as small as the runtime allows, so no output copy is timed) and
    no other op is kept: its latency is what the graph would cost if everything but its GEMMs were free, the
    floor under any reformulation that keeps the same matrix products.

    Returns the floor graph and random feeds for it."""
    from onnx import helper, numpy_helper

    inferred = onnx.shape_inference.infer_shapes(proto)
    src = inferred.graph
    known = {v.name: v.type.tensor_type for v in [*src.value_info, *src.input, *src.output]}
    inits = {i.name: i for i in proto.graph.initializer}
    rng = np.random.default_rng(seed)
    nodes, inputs, outputs, used, feeds = [], [], [], {}, {}
    for n, node in enumerate(x for x in src.node if x.op_type in ("MatMul", "Gemm")):
        names = []
        for j, name in enumerate(node.input):
            if name in inits:
                used[name] = inits[name]
                names.append(name)
                continue
            dims = [d.dim_value for d in known[name].shape.dim] if name in known else []
            if not dims or min(dims) <= 0:
                raise ValueError(f"gemm_floor needs static shapes; input {name!r} of {node.name!r} has {dims}")
            feed = f"gemm{n}_in{j}"
            feeds[feed] = rng.standard_normal(dims, dtype=np.float32)
            inputs.append(helper.make_tensor_value_info(feed, onnx.TensorProto.FLOAT, dims))
            names.append(feed)
        out = f"gemm{n}"
        copy = helper.make_node(node.op_type, names, [out])
        copy.attribute.extend(node.attribute)
        nodes.append(copy)
        rank = len(known[node.output[0]].shape.dim)  # of the product, whichever operand is a weight
        ones = numpy_helper.from_array(np.ones(rank, dtype=np.int64), f"{out}_ends")
        zeros = numpy_helper.from_array(np.zeros(rank, dtype=np.int64), f"{out}_starts")
        used[zeros.name], used[ones.name] = zeros, ones
        nodes.append(helper.make_node("Slice", [out, zeros.name, ones.name], [f"{out}_corner"]))
        outputs.append(helper.make_tensor_value_info(f"{out}_corner", onnx.TensorProto.FLOAT, [1] * rank))
    if not nodes:
        raise ValueError("gemm_floor: the graph has no MatMul or Gemm")
    graph = helper.make_graph(nodes, "gemm_floor", inputs, outputs, list(used.values()))
    floor = helper.make_model(graph, opset_imports=[o for o in proto.opset_import if o.domain in ("", "ai.onnx")])
    floor.ir_version = proto.ir_version
    return floor, feeds


def runtime_step(runtime: str, proto: onnx.ModelProto, feeds: dict[str, np.ndarray], threads: int) -> Step:
    """Load `proto` in edgeattn's runner for `runtime` (fp32, `threads` threads) from a temporary file."""
    from ..runtimes import RuntimeOptions, load_runtime

    tmp = tempfile.TemporaryDirectory(prefix="edgeattn-anchor-")
    path = Path(tmp.name) / "model.onnx"
    path.write_bytes(proto.SerializeToString())
    rt = load_runtime(runtime, path, RuntimeOptions(threads=threads, precision="fp32"))

    def close() -> None:
        rt.close()
        tmp.cleanup()

    return Step(lambda: rt.infer(feeds), close)


def floor_step(runtime: str, proto: onnx.ModelProto, feeds: dict[str, np.ndarray], threads: int) -> Step:
    """Run a `gemm_floor` graph with its inputs bound once, without copies (ONNX Runtime's IO binding,
    OpenVINO's shared-memory tensors): the floor graph has an input per product, several times the real
    graph's one input, and copying those on every call would be timed as GEMM work. Session settings are
    those of edgeattn's runners (fp32, `threads` intra-op threads, full graph optimisation)."""
    if runtime == "ort":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])
        binding = session.io_binding()
        bound = {k: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v)) for k, v in feeds.items()}
        for k, v in bound.items():
            binding.bind_ortvalue_input(k, v)
        for out in session.get_outputs():
            binding.bind_output(out.name, "cpu")
        return Step(lambda: session.run_with_iobinding(binding))
    if runtime == "openvino":
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(proto.SerializeToString()), "CPU",
                                      {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads})
        request = compiled.create_infer_request()
        arrays = {k: np.ascontiguousarray(v) for k, v in feeds.items()}
        for k, v in arrays.items():
            request.set_tensor(k, ov.Tensor(v, shared_memory=True))
        return Step(lambda: (arrays, request.infer())[1])  # `arrays` kept alive with the step
    raise ValueError(f"floor_step: unknown runtime {runtime!r}; expected 'ort' or 'openvino'")


def openvino_direct_step(module: nn.Module, example: tuple[torch.Tensor, ...], threads: int, via: str) -> Step:
    """OpenVINO's own PyTorch conversion of `module` (no ONNX), compiled at f32 with `threads` threads."""
    import openvino as ov

    module = module.eval()
    with torch.no_grad():
        if via == OPENVINO_DIRECT_ROUTES[0]:
            model = ov.convert_model(module, example_input=example)
        elif via == OPENVINO_DIRECT_ROUTES[1]:
            model = ov.convert_model(torch.export.export(module, example))
        else:
            raise ValueError(f"unknown OpenVINO route {via!r}; expected one of {OPENVINO_DIRECT_ROUTES}")
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                      "INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()
    arrays = [np.ascontiguousarray(t.numpy()) for t in example]
    return Step(lambda: request.infer(arrays))


def torch_step(module: nn.Module, example: tuple[torch.Tensor, ...], threads: int, compile: bool = False) -> Step:
    """PyTorch eager (or `torch.compile`d, compiled by the first call) under inference_mode."""
    module = module.eval()
    fn = torch.compile(module) if compile else module

    def run() -> object:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            return fn(*example)

    if compile:
        run()  # compile now, not inside the timed warm-up
    return Step(run)
