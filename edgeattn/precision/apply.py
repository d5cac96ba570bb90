"""The one call the export job makes: turn the bundle's fp32 graph into the requested precision, in place.

- ort: int8 = model.onnx as ORT static Q/DQ (U8S8, per-channel weights); no fp16 (few fp16 CPU kernels in ORT).
- openvino: int8 = model.xml/.bin from NNCF (same float set); fp16/bf16 = what executes is read back (bf16 here).
- trt: int8 = model.onnx as Q/DQ (S8S8 symmetric), checked on ORT; fp16 = float16 ONNX with float32 islands.
`fp16-weights` (openvino): float16 weights in model.bin, f32 compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from ..errors import InvalidOptionError
from .config import PrecisionConfig

__all__ = ["PrecisionOutcome", "apply_precision", "SUPPORTED", "check_supported"]

SUPPORTED: dict[str, tuple[str, ...]] = {
    "onnx": ("fp32",),
    "ort": ("fp32", "int8"),
    "openvino": ("fp32", "fp16", "bf16", "fp16-weights", "int8"),
    "trt": ("fp32", "fp16", "int8"),
}


@dataclass
class PrecisionOutcome:
    precision: str  # what was asked for
    executed: dict[str, str]  # runtime -> precision it computes in (what parity judges with)
    load_precision: dict[str, str]  # runtime -> RuntimeOptions.precision to load the artefact with
    files: list[Path] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    passed: bool | None = None  # the accuracy bound; None when not judged
    lines: list[str] = field(default_factory=list)
    tolerances: dict[str, dict] = field(default_factory=dict)  # extra manifest tolerances (bundle/tolerances.py keys)

    @property
    def refusal(self) -> str:
        acc = self.manifest.get("accuracy") or {}
        if not acc:
            return ""
        return (f"{acc['metric']} dropped by {acc['drop']:.4f} (fp32 {acc['fp32']:.4f} -> {self.precision} "
                f"{acc['value']:.4f}) on {acc['samples']} held-out samples, over the bound {acc['max_drop']:g}. "
                "Keep more in float (--keep-float auto, or names from the sensitivity table), try another "
                "--calibration, or pass --max-drop if the loss is acceptable")


def check_supported(target: str, precision: str) -> None:
    if precision not in SUPPORTED.get(target, ()):
        others = [t for t, ps in SUPPORTED.items() if precision in ps]
        raise InvalidOptionError(f"--precision {precision} is not supported for --target {target} (supported: "
                                 f"{', '.join(SUPPORTED.get(target, ()))}); targets with {precision}: "
                                 f"{', '.join(others) or 'none'}")


def apply_precision(stage: Path, onnx_path: Path, *, target: str, task: str, input_names: list[str],
                    size: tuple[int, int], num_classes: int, config: PrecisionConfig,
                    progress: Callable[[str], None], extensions: tuple[str, ...] = ()) -> PrecisionOutcome:
    """`extensions`: OpenVINO extension libraries the staged model needs (a --custom-ops IR: the compiled
    kernels built for this machine)."""
    p = config.precision
    check_supported(target, p)
    if p == "int8":
        return _int8(stage, onnx_path, target, task, input_names, size, num_classes, config, progress)
    if target == "trt" and p == "fp16":
        return _trt_fp16(onnx_path, task, input_names, size, num_classes, config, progress)
    if target == "openvino":
        return _openvino_float(stage, onnx_path, p, task, progress, extensions)
    return PrecisionOutcome(p, {}, {})


def _int8(stage, onnx_path, target, task, input_names, size, num_classes, config, progress) -> PrecisionOutcome:
    from .int8 import quantize_for_target

    fp32 = onnx.load(str(onnx_path))
    res = quantize_for_target(fp32, onnx_path, task=task, input_names=input_names, size=size,
                              num_classes=num_classes, target=target, config=config, progress=progress)
    files: list[Path] = []
    if res.onnx_model is not None:
        for k, v in {p.key: p.value for p in fp32.metadata_props}.items():
            res.onnx_model.metadata_props.add(key=k, value=v)
        res.onnx_model.metadata_props.add(key="edgeattn.precision", value="int8 Q/DQ")
        onnx_path.write_bytes(res.onnx_model.SerializeToString())
    if res.ov_model is not None:
        import openvino as ov

        xml = Path(stage) / "model.xml"
        ov.save_model(res.ov_model, str(xml), compress_to_fp16=False)
        files += [xml, xml.with_suffix(".bin")]
    # Int8 graphs load at fp32 (OpenVINO: the float parts stay f32 rather than the bf16 this CPU picks).
    runtimes = {"ort": "fp32", "openvino": "fp32", "reference": "fp32", "tensorrt": "fp32"}
    return PrecisionOutcome("int8", {r: "int8" for r in runtimes}, runtimes, files,
                            {"precision": "int8", "target": target, **res.manifest()}, res.accuracy.passed,
                            res.lines)


def _trt_fp16(onnx_path, task, input_names, size, num_classes, config, progress) -> PrecisionOutcome:
    from .bounds import judge, task_metric
    from .data import task_samples
    from .evaluate import ort_runner, run_samples
    from .fp16_islands import ISLAND_OPS, island_nodes, to_float16

    fp32 = onnx.load(str(onnx_path))
    half = to_float16(fp32)
    islands = island_nodes(fp32)
    kinds = sorted(ISLAND_OPS & {n.op_type for n in fp32.graph.node})
    progress(f"  fp16: float16 graph with {len(islands)} float32 islands ({', '.join(kinds)})")
    held = task_samples(task, input_names, size, config.eval_samples, seed=config.seed, num_classes=num_classes)
    ref = task_metric(task, run_samples(ort_runner(fp32, config.threads), held), held)
    val = task_metric(task, run_samples(ort_runner(half, config.threads), held), held)
    report = judge(task, "fp16", ref, val, max_drop=config.max_drop, samples=len(held), size=size)
    note = ("task metric of the float16 graph on ONNX Runtime's CPU provider, which runs most float16 ops through "
            "float32 casts: this checks the graph and its islands, not fp16 rounding; the fp16-arithmetic check "
            "is onnx.reference on numpy float16 (tests/precision, small sizes); TensorRT computes fp16 on the device")
    progress("  " + report.line())
    onnx_path.write_bytes(half.SerializeToString())
    runtimes = {"ort": "fp32", "reference": "fp32", "tensorrt": "fp32"}
    return PrecisionOutcome("fp16", {"ort": "fp16", "reference": "fp16", "tensorrt": "fp16"}, runtimes, [],
                            {"precision": "fp16", "target": "trt", "islands": islands, "accuracy": report.to_dict(),
                             "accuracy_note": note}, report.passed, [report.line(), note])


def _openvino_float(stage, onnx_path, p, task, progress, extensions=()) -> PrecisionOutcome:
    from .openvino_fp16 import executed_precision

    xml = Path(stage) / "model.xml"
    info = executed_precision(str(xml) if xml.exists() else str(onnx_path), p, extensions=extensions)
    progress(f"  openvino: {info.note}")
    load = {"fp16": "fp16", "bf16": "bf16", "fp16-weights": "fp32", "fp32": "fp32"}[p]
    tolerances = {}
    if info.substituted and info.executed != p:  # verify judges what executes: store that precision's bar too
        from ..bundle.tolerances import bundle_tolerances

        tolerances = {k: v for k, v in bundle_tolerances(task, info.executed).items() if k.endswith("/openvino")}
    return PrecisionOutcome(p, {"openvino": info.executed if p != "fp16-weights" else "fp16-weights"},
                            {"openvino": load}, [], {"precision": p, "target": "openvino",
                                                     "openvino_executed": info.to_dict()}, None, [info.note],
                            tolerances)
