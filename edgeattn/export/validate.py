"""Every export option checked before any work starts (the pipeline's first step, split out of pipeline.py).

What a target or exporter cannot do is refused here, with the flag named and the range that would work, so that
no model is built for an export that cannot succeed. The TensorRT and precision flags are checked by their own
hooks (`export/trt.py`, `export/precision_step.py`).
"""

from __future__ import annotations

from pathlib import Path

from .._atomic import check_writable_dir
from .._resources import check_memory
from ..cli import check_threads, parse_runtimes
from ..errors import InvalidOptionError, MissingDependencyError, install_hint, unknown
from ..models import ModelSpec, check_input_size, get_model_spec
from ..runtimes import runtime_class, runtime_names
from .config import PRECISIONS, ExportConfig
from .device import check_device_options
from .precision_step import check_precision_options
from .targets import get_target
from .trt import check_trt_options
from .user_model import is_user_model, user_spec

__all__ = ["validate", "check_custom_ops", "check_opset"]


def validate(config: ExportConfig) -> tuple[ModelSpec, tuple[int, int], list[str]]:
    """Check every option before any work starts; returns (spec, size, parity runtimes)."""
    if config.name is not None and not is_user_model(config.model):
        raise InvalidOptionError(f"--name names a user model's bundle; registered model {config.model!r} keeps its "
                                 "name (pass --output DIR to write it elsewhere)")
    spec = user_spec(config) if is_user_model(config.model) else get_model_spec(config.model)
    target = get_target(config.target)
    size = check_input_size(spec, config.input_size or spec.default_size)
    if config.batch < 1:
        raise InvalidOptionError(f"--batch must be >= 1, got {config.batch}")
    if config.precision not in PRECISIONS:
        raise unknown("precision", config.precision, PRECISIONS)
    if config.precision not in target.precisions:
        others = [t for t in ("openvino", "trt") if config.precision in get_target(t).precisions]
        raise InvalidOptionError(
            f"--precision {config.precision} is not supported for --target {config.target} "
            f"(supported: {', '.join(target.precisions)}); targets with {config.precision}: {', '.join(others)}"
        )
    _check_opset(config, spec)
    if not 0 <= config.seed < 2**32:
        raise InvalidOptionError(f"--seed must be in 0..{2**32 - 1} (numpy and torch seeds), got {config.seed}")
    _check_target_tools(config)
    if config.parity_sizes and not config.dynamic:
        raise InvalidOptionError("--parity-size needs --dynamic (a static graph only runs at its export size)")
    for s in config.parity_sizes:
        check_input_size(spec, s)
    check_threads(config.threads)  # 1..4 x the CPUs here (edgeattn/cli.py)
    runtimes: list[str] = []
    if config.parity:
        if config.runtimes is not None:
            runtimes = list(parse_runtimes(config.runtimes, ("torch", *runtime_names())))
            if "torch" in runtimes:
                raise InvalidOptionError("--runtimes torch: the bundle's reference outputs are PyTorch's, so PyTorch "
                                         "has nothing to be compared with; use ort, openvino or tensorrt")
            for name in runtimes:
                runtime_class(name)  # unknown names are refused; an uninstalled one makes the verdict NOT VERIFIED
        else:
            runtimes = list(target.parity_runtimes)
    if config.sign_key is not None:  # a bad key or a missing extra is found now, not after the export
        from ..bundle.signing import check_private_key

        check_private_key(Path(config.sign_key))
    if config.checkpoint is not None and not Path(config.checkpoint).is_file():
        raise InvalidOptionError(f"--checkpoint {str(config.checkpoint)!r} does not exist or is not a regular file")
    channels = sum(i.channels for i in spec.inputs)
    for s in (size, *config.parity_sizes):
        check_memory("the export", config.batch, s[0], s[1], channels,
                     "choose a smaller --input-size/--parity-size or --batch", spec.attention, spec.attention_stride)
    if config.pretrained:
        if config.checkpoint is not None:
            raise InvalidOptionError("--pretrained and --checkpoint exclude each other: pass one of them")
        from ..models.pretrained import weights_info

        weights_info(spec.name)  # no shipped weights: one line naming the models that have them
    check_trt_options(config, spec, size)
    check_precision_options(config)
    if config.custom_ops:
        check_custom_ops(config, runtimes)
    check_device_options(config)
    check_writable_dir(Path(config.output))
    return spec, size, runtimes


# Exporter limits (torch 2.13): the dynamo exporter implements opset >= 18 only (asked for less it may silently keep
# 18); ONNX Runtime 1.32 and OpenVINO 2026.4 read up to 23.
_EXPORTER_OPSETS = {"torchscript": (7, 23), "dynamo": (18, 23)}


def _check_opset(config: ExportConfig, spec: ModelSpec) -> None:
    check_opset(config.opset, spec, config.exporter, config.target)


def check_opset(opset: int, spec: ModelSpec, exporter: str = "torchscript", target: str | None = None) -> None:
    """Refuse, before any work, an opset whose export would be wrong for the model or that the target cannot read
    (parity, which exports with torchscript for no target, asks too)."""
    from .support_tables import OPSET_RANGE

    e_lo, e_hi = _EXPORTER_OPSETS.get(exporter, (7, 23))
    limits = [(e_lo, e_hi, f"the {exporter} exporter writes opset {e_lo}..{e_hi}"),
              (spec.min_opset, 10**6, f"{spec.name} needs opset >= {spec.min_opset} (earlier opsets lack half-pixel "
                                      "Resize or GridSample and export a model that computes something else)")]
    if target is not None:
        t_lo, t_hi = OPSET_RANGE.get(target, (1, 10**6))
        limits.append((t_lo, t_hi, f"--target {target} reads opset {t_lo}..{t_hi}"))
    lo, hi = max(x[0] for x in limits), min(x[1] for x in limits)
    broken = [why for a, b, why in limits if not a <= opset <= b]
    if broken:
        raise InvalidOptionError(f"--opset {opset} cannot be used here: {'; '.join(broken)}; use {lo}..{hi}")


def _check_target_tools(config: ExportConfig) -> None:
    """A target that needs a package to WRITE its files says so before the model is built (parity runtimes that are
    missing only make the verdict NOT VERIFIED)."""
    import importlib.util

    if config.target == "openvino":
        try:
            import openvino  # noqa: F401  - needed to write the IR anyway; an import proves it is usable
        except ImportError:
            raise MissingDependencyError(f"--target openvino writes the IR with OpenVINO, which is not installed: "
                                         f"{install_hint('openvino')}") from None
    if config.exporter == "dynamo" and importlib.util.find_spec("onnxscript") is None:
        raise MissingDependencyError(f"--exporter dynamo needs onnxscript: {install_hint('export')}")


def check_custom_ops(config: ExportConfig, runtimes: list[str]) -> None:
    """A custom-op graph goes only where a kernel for its nodes exists (see edgeattn.ops)."""
    from ..ops import CUSTOM_OP_RUNTIMES, CUSTOM_OP_TARGETS

    can_run = f"targets that can run it: {', '.join(CUSTOM_OP_TARGETS)} (ort needs onnxruntime-extensions)"
    if config.target == "trt" and not config.trt_plugins:
        raise InvalidOptionError(
            "--custom-ops graphs cannot run on --target trt without a TensorRT plugin for the edgeattn ops; "
            f"{can_run}. "
            "Export without --custom-ops for TensorRT, or pass --trt-plugin LIB implementing the plugin contract "
            "in docs (EdgeAttnCrissCross version 1 / EdgeAttnPatchMatch version 2, namespace edgeattn)"
        )
    if config.target not in (*CUSTOM_OP_TARGETS, "trt"):
        raise InvalidOptionError(f"--custom-ops is not available for --target {config.target}; {can_run}")
    if config.precision == "int8":
        # INT8 calibration (method choice and the sensitivity table, for every target) runs the graph in ONNX
        # Runtime's quantizer, whose calibrator opens its own InferenceSession: no custom-op library reaches it.
        raise InvalidOptionError(
            "--custom-ops cannot be combined with --precision int8: the INT8 calibration runs the graph in ONNX "
            "Runtime's quantizer, which cannot load the edgeattn kernels. Export INT8 without --custom-ops (the "
            "attention then quantizes as standard ops), or --custom-ops at fp32 (OpenVINO also fp16/bf16)")
    if config.target == "trt" and config.precision != "fp32":
        raise InvalidOptionError(
            f"--custom-ops with --target trt exports fp32 only (the host-side {config.precision} accuracy check "
            "runs the graph in ONNX Runtime, which has no TensorRT plugin): for a TensorRT "
            f"{config.precision} engine, export without --custom-ops")
    bad = [r for r in runtimes if r not in CUSTOM_OP_RUNTIMES]
    if bad:
        raise InvalidOptionError(
            f"--custom-ops graphs cannot be checked on {', '.join(bad)} (no kernel there); "
            f"use --runtimes {','.join(CUSTOM_OP_RUNTIMES)} or --no-parity"
        )
