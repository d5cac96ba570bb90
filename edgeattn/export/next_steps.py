"""The "next:" commands export prints after a bundle: each one runs as printed, for THIS bundle.

Every command carries what the bundle was made with (its folder, quoted for a shell; its size; its precision) and
is only suggested where the tool accepts it: bench times registered models only (a user model's factory is not a
name bench knows), at fp32 or INT8 on ONNX Runtime, without custom ops; serve refuses custom-op bundles; the
TensorRT engine is built on the device. tests/test_docs.py runs every line it can on the test machine.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .config import ExportConfig

__all__ = ["next_commands"]


def _runtime(target: str) -> str:
    return {"trt": "tensorrt", "openvino": "openvino"}.get(target, "ort")


def next_commands(folder: Path, manifest: dict, config: ExportConfig) -> list[tuple[str, str]]:
    """(label, command) pairs, in the order a user would run them."""
    where = shlex.quote(str(folder))
    target, precision = config.target, config.precision
    runtime = _runtime(target)
    user_model = ":" in config.model
    out: list[tuple[str, str]] = []
    if target == "trt":
        out.append(("on the Jetson", f"python -m edgeattn.tensorrt.build {where}"))
    out.append(("on the device", f"python -m edgeattn.verify {where} --runtimes {runtime}"))
    if target != "trt" and not config.custom_ops:
        out.append(("serve it", f"python -m edgeattn.serve export {where} --server triton --output model_repository"))
    if not user_model and not config.custom_ops and target != "trt" and precision in ("fp32", "int8"):
        h, w = manifest.get("options", {}).get("input_size") or config.input_size or (0, 0)
        sizes = f" --sizes {h}x{w}" if h and w else ""
        model = shlex.quote(str(manifest.get("model", config.model)))
        if precision == "int8":  # bench quantizes as export --precision int8 --target ort does, and times it on ORT
            out.append(("time it", f"python -m edgeattn.bench --models {model}{sizes} --runtimes ort "
                                   "--precisions fp32,int8 --no-sweep"))
        else:
            out.append(("time it", f"python -m edgeattn.bench --models {model}{sizes} --runtimes torch,{runtime} "
                                   "--no-sweep"))
    return out
