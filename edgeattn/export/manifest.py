"""The bundle manifest an export writes (docs/bundle-format.md): inputs/outputs with semantics and dynamic ranges,
the weights' canonical hash and the checkpoint file's, the reference cases, the tolerances decided now, options,
tool versions and the op audit. `files` is filled by `edgeattn.bundle.finalize` once every file is written."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import torch

from .._version import __version__
from ..bundle import weights_sha256
from ..bundle.hashing import sha256_file
from ..bundle.layout import FORMAT
from ..bundle.tolerances import bundle_tolerances
from ..models import ModelSpec
from .audit import AuditReport
from .config import ExportConfig
from .targets import get_target

__all__ = ["build_manifest", "weights_record"]


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"edgeattn": __version__, "python": sys.version.split()[0]}
    for pkg in ("torch", "onnx", "onnxruntime", "openvino", "onnxslim", "onnxsim", "onnxscript"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def weights_record(model: torch.nn.Module, config: ExportConfig) -> dict:
    """The canonical hash of the weights actually exported, and where they came from."""
    source = "checkpoint" if config.checkpoint is not None else "pretrained" if config.pretrained else "random-init"
    record: dict = {"sha256": weights_sha256(model.state_dict()), "seed": config.seed, "source": source,
                    "checkpoint": None}
    if config.checkpoint is not None or config.pretrained:
        if config.pretrained:  # the shipped file (edgeattn/models/weights/<model>.pt, fp16 loaded as fp32)
            from ..models.pretrained import WEIGHTS_DIR

            p = WEIGHTS_DIR / f"{config.model}.pt"
        else:
            p = Path(config.checkpoint)
        record["checkpoint"] = {"name": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size}
    return record


_SEMANTICS = {
    "image": "RGB float32 in [0, 1]; ImageNet normalisation is inside the graph",
    "hazy": "hazy RGB float32 in [0, 1]; ImageNet normalisation is inside the graph",
    "frame1": "first frame, RGB float32 in [0, 1]; ImageNet normalisation is inside the graph",
    "frame2": "second frame, RGB float32 in [0, 1]; ImageNet normalisation is inside the graph",
    "mask": "hole mask float32: 1 = hole, 0 = known pixel; no normalisation",
}
_OUTPUT_SEMANTICS = {
    "segmentation": "class logits (N, K, H, W); argmax over K is the label map",
    "dehazing": "dehazed RGB float32 in [0, 1] (N, 3, H, W)",
    "flow": "optical flow (N, 2, H, W) in pixels of the input, (dx, dy) from frame1 to frame2",
    "inpainting": "inpainted RGB float32 in [0, 1] (N, 3, H, W); known pixels are passed through",
}


def _dynamic_ranges(config: ExportConfig, spec: ModelSpec, size: tuple[int, int]) -> dict | None:
    if not config.dynamic:
        return None
    lo = config.min_size or (spec.min_size, spec.min_size)
    hi = config.max_size if config.target == "trt" else None
    hi = hi or ((2 * size[0], 2 * size[1]) if config.target == "trt" else (None, None))
    max_batch = (config.max_batch or config.batch) if config.target == "trt" else None
    return {"batch": [1, max_batch], "height": [lo[0], hi[0]], "width": [lo[1], hi[1]]}


def build_manifest(config: ExportConfig, spec: ModelSpec, size: tuple[int, int], report: AuditReport, cases: list[dict],
              weights: dict, runtimes: list[str], output_shape: list[int]) -> dict:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    dynamic = _dynamic_ranges(config, spec, size)
    target = get_target(config.target)
    return {
        "format": FORMAT,
        "model": spec.name,
        "task": spec.task,
        "target": config.target,
        "precision": config.precision,
        "inputs": [
            {"name": i.name, "dtype": "float32", "shape": [config.batch, i.channels, *size], "dynamic": dynamic,
             "layout": "NCHW", "range": [0.0, 1.0], "semantics": _SEMANTICS.get(i.kind, "float32 NCHW")}
            for i in spec.inputs
        ],
        "outputs": [{"name": spec.output, "dtype": "float32", "shape": output_shape,
                     "semantics": _OUTPUT_SEMANTICS.get(spec.task, "")}],
        "weights": weights,
        "files": {},
        "reference": {"cases": cases, "seed": config.seed},
        "tolerances": bundle_tolerances(spec.task, config.precision),
        "runtimes": list(target.verify_runtimes),
        "export_runtimes": runtimes,
        "parity": [],
        "verdict": "skipped",
        "opset": config.opset,
        "options": options,
        "tools": _tool_versions(),
        "audit": report.to_dict(),
    }
