"""What `--device PROFILE` does to an export (host side): the ONNX the device's runtimes can load, the TensorRT
audit and build mode of its TensorRT version, and the profile recorded in the manifest.

ONNX Runtime refuses a model whose IR version or default-domain opset is newer than the version it was built
against (onnx 1.23 writes IR 14 for new opsets, ONNX Runtime 1.20 loads up to IR 10 and opset 21). The opset is
checked before any work; the IR version is lowered where the opset allows it (the IR version an opset was
released with, onnx.helper.VERSION_TABLE: a model of that opset needs nothing newer), and the shipped model.onnx
is checked again at the end, because the precision step rewrites it. What cannot be loaded is refused (exit 2),
never shipped.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from ..devices import DeviceProfile, get_profile
from ..errors import InvalidOptionError
from .config import ExportConfig

__all__ = ["check_device_options", "lower_ir_version", "check_loadable", "device_manifest", "trt_version"]


def trt_version(profile: DeviceProfile | None) -> tuple[int, int] | None:
    if profile is None or profile.tensorrt is None:
        return None
    major, minor = profile.tensorrt.split(".")[:2]
    return int(major), int(minor)


def check_device_options(config: ExportConfig) -> DeviceProfile | None:
    """The profile of --device, with every option the device cannot take refused before any work."""
    if config.device is None:
        return None
    profile = get_profile(config.device)
    if config.opset > profile.max_opset:
        raise InvalidOptionError(
            f"--opset {config.opset} cannot be loaded on --device {profile.name}: its ONNX Runtime "
            f"{profile.onnxruntime} loads opset <= {profile.max_opset}; use --opset {min(17, profile.max_opset)} "
            f"(the default) .. {profile.max_opset}")
    if config.target == "trt" and profile.tensorrt is None:
        raise InvalidOptionError(f"--target trt: --device {profile.name} has no TensorRT (it runs "
                                 f"{', '.join(profile.runtimes)}); use --target onnx or openvino")
    if config.target == "openvino" and profile.openvino is None:
        raise InvalidOptionError(f"--target openvino: --device {profile.name} has no OpenVINO; use --target onnx")
    return profile


def _min_ir_for_opset(opset: int) -> int:
    """The IR version ONNX released `opset` with (the lowest a model of that opset can declare)."""
    irs = [ir for _, ir, op, *_ in onnx.helper.VERSION_TABLE if op >= opset]
    return min(irs) if irs else onnx.IR_VERSION


def _default_opset(proto: onnx.ModelProto) -> int:
    return max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)


def lower_ir_version(proto: onnx.ModelProto, profile: DeviceProfile | None) -> None:
    """Declare the IR version the device loads when the graph's opset allows it (in place)."""
    if profile is None or proto.ir_version <= profile.max_ir_version:
        return
    need = _min_ir_for_opset(_default_opset(proto))
    if need <= profile.max_ir_version:
        proto.ir_version = max(need, min(proto.ir_version, profile.max_ir_version))


def check_loadable(onnx_path: Path, profile: DeviceProfile | None) -> dict:
    """The shipped model.onnx's IR version and opset; InvalidOptionError (exit 2) where the device cannot load it."""
    proto = onnx.load(str(onnx_path), load_external_data=False)
    ir, opset = int(proto.ir_version), _default_opset(proto)
    if profile is not None:
        if ir > profile.max_ir_version or opset > profile.max_opset:
            raise InvalidOptionError(
                f"the exported model.onnx is IR version {ir}, opset {opset}, and --device {profile.name}'s ONNX "
                f"Runtime {profile.onnxruntime} loads up to IR {profile.max_ir_version}, opset {profile.max_opset}: "
                "nothing was published; export with a lower --opset (or the torchscript exporter, which writes an "
                "older IR)")
    return {"ir_version": ir, "opset": opset}


def device_manifest(profile: DeviceProfile, target: str, onnx_info: dict, trt_notes: list[str]) -> dict:
    """The manifest's `device` entry: which profile the bundle was shaped for and what that checked."""
    keep = ("name", "title", "arch", "os", "python", "numpy", "onnxruntime", "openvino", "tensorrt", "tensorrt_next",
            "cuda", "max_ir_version", "max_opset")
    d = profile.to_dict()
    return {**{k: d[k] for k in keep}, "model_onnx": onnx_info, "tensorrt_build": trt_notes,
            "verify_on_device": "python -m edgeattn.verify BUNDLE --runtimes "
                                + ("tensorrt" if target == "trt" else ",".join(profile.runtimes)),
            "emulate": (f"python -m edgeattn.emulate BUNDLE --device {profile.name}" if profile.emulation else None)}
