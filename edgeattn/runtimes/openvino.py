"""OpenVINO (CPU plugin).

Parity runs at f32: on CPUs with AVX512_BF16 the plugin computes in bf16 by default, which is a
precision of its own (see the tolerance table), so edgeattn always sets INFERENCE_PRECISION_HINT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Runtime, RuntimeOptions, register_runtime

__all__ = ["OpenVinoRuntime", "OV_PRECISION"]

# int8 IR (NNCF FakeQuantize): the float parts run f32, not the bf16 this CPU would pick by default.
# fp16-weights: float16 weights in model.bin, f32 compute.
OV_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32", "fp16-weights": "f32"}
_MAX_XML_SCAN = 64 << 20  # an IR's .xml is kilobytes to a few MiB (the weights are in the .bin)
_EXECUTED = {"f32": "fp32", "float32": "fp32", "bf16": "bf16", "bfloat16": "bf16", "f16": "fp16", "float16": "fp16"}


def _missing_extension(path: Path) -> Exception:
    """One-line error for an IR whose edgeattn layers no registered extension creates."""
    import re

    from ..errors import MissingDependencyError

    text = ""
    if path.suffix == ".xml":  # only to name the layers in the message: the first _MAX_XML_SCAN bytes suffice
        with open(path, "rb") as f:
            text = f.read(_MAX_XML_SCAN).decode("utf-8", errors="replace")
    native = sorted(set(re.findall(r'type="(\w+)"\s+version="edgeattn"', text)))
    if native:
        return MissingDependencyError(
            f"{path} has edgeattn custom-op layers ({', '.join(native)}) whose compiled kernels ship in the bundle "
            "(extensions/openvino/libedgeattn_openvino.so): verify the bundle (python -m edgeattn.verify BUNDLE), "
            "which loads that library after checking its hash, or pass it in RuntimeOptions(extensions=...) / "
            "core.add_extension(path)")
    layers = sorted(set(re.findall(r'type="(\w+)"\s+version="extension"', text))) or ["EdgeAttnPatchMatch"]
    return MissingDependencyError(
        f"{path} has edgeattn custom-op layers ({', '.join(layers)}) that OpenVINO cannot create "
        "without edgeattn's extension, which could not be registered in this process: install edgeattn with "
        "its ops (pip install 'edgeattn[openvino]', or pip install -e '.[openvino]' in a checkout), or call "
        "edgeattn.ops.register_openvino_extensions(core) before core.read_model")


@register_runtime
class OpenVinoRuntime(Runtime):
    name = "openvino"
    extra = "openvino"
    modules = ("openvino",)
    artefacts = ("model.xml", "model.onnx")
    precisions = ("fp32", "bf16", "fp16", "int8", "fp16-weights")

    def __init__(self, path: Path, options: RuntimeOptions) -> None:
        super().__init__(path, options)
        from .._openvino import import_openvino

        ov = import_openvino()  # telemetry off (see edgeattn/_openvino.py)

        core = ov.Core()
        for lib in options.extensions:  # compiled kernels (checked against the bundle's manifest by the caller)
            core.add_extension(str(lib))
        if options.custom_ops is not False and not options.extensions:
            self._add_extensions(core)
        config = {"INFERENCE_PRECISION_HINT": OV_PRECISION[options.precision]}
        if options.threads:
            config["INFERENCE_NUM_THREADS"] = options.threads
        try:
            model = core.read_model(str(self.path))
        except RuntimeError as exc:
            if "opset" not in str(exc) and "extension" not in str(exc):
                raise
            raise _missing_extension(self.path) from None
        self.compiled = core.compile_model(model, options.device.upper(), config)
        self.request = self.compiled.create_infer_request()

    @property
    def executed_precision(self) -> str:
        """What the compiled model computes in (the hint is only a hint: f16 runs bf16 on CPUs without fp16)."""
        if self.options.precision in ("int8", "fp16-weights"):
            return self.options.precision
        raw = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        name = raw.get_type_name() if hasattr(raw, "get_type_name") else str(raw)
        return _EXECUTED.get(name, name)

    def _add_extensions(self, core) -> None:
        """Hook for edgeattn's custom-op mappings (registered by edgeattn.ops when present)."""
        try:
            from ..ops import register_openvino_extensions
        except ImportError:
            return
        register_openvino_extensions(core)

    @property
    def input_names(self) -> list[str]:
        return [i.get_any_name() for i in self.compiled.inputs]

    def infer(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        result = self.request.infer(feeds)
        return np.asarray(result[self.compiled.output(0)])

    def infer_all(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self.request.infer(feeds)
        # An output tensor may carry several names (the ONNX frontend keeps the graph's and the producer's).
        return {name: np.asarray(result[o]) for o in self.compiled.outputs for name in o.get_names()}
