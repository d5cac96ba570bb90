"""The export job: model -> ONNX -> simplified ONNX -> audit -> target artefacts -> reference -> bundle.

Its steps' checks and hooks live beside it: option checks in `validate.py`, the TensorRT files in `trt.py`, the
precision step in `precision_step.py`.

Everything is written into a staging folder beside `<output>/<model>/` (edgeattn.bundle.publish: one writer per
folder, locked; crash-safe swap) and published only when the whole job has finished. The reference inputs and
outputs are computed from exactly the weights that were exported (PyTorch fp32, and fp64 for the fp32 floor), at
the export size and every --parity-size, and always written. Tolerances are decided here, from the table and the
measured floor, and stored in the manifest.

The pipeline never imports verify or parity: a `verifier(staged_bundle, runtimes=..., threads=...)` is handed in
by the caller (the export CLI and `edgeattn.export()` hand in `edgeattn.verify.verify_bundle`). A bundle whose
verdict is failed is published to `<model>.failed/`, leaving a good `<model>/` untouched.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from .._version import __version__
from ..bundle import ReferenceCase, finalize, publish, write_case, write_manifest
from ..bundle.signing import sign_bundle
from ..bundle.layout import MODEL_ONNX
from ..data.inputs import make_inputs
from ..errors import ExportError, InvalidOptionError
from ..models import ModelSpec, create_model
from ..convert.vacuous import vacuous_note
from ..runtimes import TorchRuntime
from .audit import AuditReport, audit, audit_shipped
from .config import ExportConfig
from .device import check_device_options, check_loadable, device_manifest, lower_ir_version, trt_version
from .manifest import build_manifest, weights_record
from .native_step import conversion_library, ship_library
from .onnx import export_onnx
from .precision_step import apply_export_precision
from .simplify import simplify
from .targets import get_target
from .trt import trt_artefacts, trt_build_notes
from .user_model import build_converted, is_user_model
from .validate import validate

__all__ = ["ExportResult", "export", "validate", "Verifier", "reference_cases"]

Progress = Callable[[str], None]
#: verify_bundle's shape: (bundle folder, runtimes=, threads=, progress=) -> an object with .verdict, .rows
Verifier = Callable[..., Any]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class ExportResult:
    folder: Path  # where the bundle was published (<output>/<model>, or <output>/<model>.failed)
    manifest: dict
    audit: AuditReport
    verification: Any = None  # the verifier's result (edgeattn.verify.VerifyResult), None with --no-parity
    notes: list[str] = field(default_factory=list)

    @property
    def parity(self) -> list:
        return list(self.verification.rows) if self.verification is not None else []

    @property
    def verdict(self) -> str:
        return self.manifest.get("verdict", "skipped")

    @property
    def parity_passed(self) -> bool:
        return self.verdict in ("passed", "skipped")


def _build_for_export(config: ExportConfig, spec: ModelSpec, progress: Progress
                      ) -> tuple[torch.nn.Module, dict | None]:
    """(model, conversion record): registered models are built; user factories are built and converted."""
    if is_user_model(config.model):
        return build_converted(config, spec, progress)
    return _build_model(config), None


def _build_model(config: ExportConfig) -> torch.nn.Module:
    # Seeded so that a random-init export is reproducible byte for byte.
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        return create_model(config.model, path="export", checkpoint=config.checkpoint, pretrained=config.pretrained,
                            **config.model_kwargs)


def _check_dynamic_ok(model: torch.nn.Module, spec: ModelSpec) -> None:
    from ..nn.patchmatch import PatchMatchAttention

    if any(isinstance(m, PatchMatchAttention) for m in model.modules()):
        raise InvalidOptionError(
            f"{spec.name} exports with static shapes only: PatchMatch's random tables are drawn "
            "for one feature-map size and baked into the graph. Drop --dynamic and export once "
            "per input size (--input-size HxW), or add --custom-ops (the custom node draws its tables per size "
            "at run time)"
        )


def _enable_custom_ops(model: torch.nn.Module, spec: ModelSpec) -> None:
    from ..ops import enable_custom_ops

    if enable_custom_ops(model) == 0:
        raise InvalidOptionError(
            f"--custom-ops: {spec.name} has no layer with a custom op (criss-cross or PatchMatch "
            "attention); export it without --custom-ops"
        )


def reference_cases(model: torch.nn.Module, spec: ModelSpec, config: ExportConfig,
                    sizes: list[tuple[int, int]], progress: Progress = _stderr) -> list[ReferenceCase]:
    """PyTorch fp32 outputs of exactly `model` (the exported weights) at each size, with the fp32 floor
    |fp32 - fp64| measured on the same inputs."""
    names = [i.name for i in spec.inputs]
    torch_rt = TorchRuntime(model, names, threads=config.threads)
    exact_rt = TorchRuntime(copy.deepcopy(model).double(), names, threads=config.threads, dtype=torch.float64)
    cases = []
    for size in sizes:
        progress(f"  reference at {config.batch}x{size[0]}x{size[1]}: PyTorch fp32 and fp64 ...")
        feeds = make_inputs(spec, config.batch, *size, seed=config.seed)
        expected = np.asarray(torch_rt.infer(feeds), dtype=np.float32)
        exact = np.asarray(exact_rt.infer(feeds), dtype=np.float64)
        if not (np.isfinite(expected).all() and np.isfinite(exact).all()):
            raise ExportError(f"{spec.name} outputs NaN/Inf at {size[0]}x{size[1]} with these weights: a reference "
                              "must be finite (check the checkpoint)")
        floor = np.abs(expected.astype(np.float64) - exact)
        cases.append(ReferenceCase(batch=config.batch, size=size, inputs=feeds, outputs={spec.output: expected},
                                   floor={spec.output: {"max_abs": float(floor.max()),
                                                        "mean_abs": float(floor.mean())}}))
    return cases


def export(config: ExportConfig, progress: Progress = _stderr, *, verifier: Verifier | None = None) -> ExportResult:
    """Export, write the bundle, and (with a `verifier` and parity on) verify the staged bundle before publishing."""
    spec, size, runtimes = validate(config)
    profile = check_device_options(config)
    target = get_target(config.target)
    final = Path(config.output) / spec.name
    check = bool(runtimes) and verifier is not None
    steps = 7 + (1 if check else 0)  # build, export, simplify, audit, artefacts, reference, [verify], publish
    step = iter(range(1, steps + 1))

    with publish(final) as pub:  # the lock is taken before any long work: a second exporter stops here
        for note in pub.notes:
            progress(f"  {note}")
        stage = pub.staging
        progress(f"[{next(step)}/{steps}] building {spec.name} ({spec.task}), input {config.batch}x{size[0]}x{size[1]}")
        model, conversion = _build_for_export(config, spec, progress)
        if conversion is None:  # a user model's conversion table already carries this note
            note = vacuous_note(model)
            if note:
                progress(f"  {note}")
        weights = weights_record(model, config)
        if config.dynamic and not config.custom_ops:  # a custom node draws its tables per size at run time
            _check_dynamic_ok(model, spec)
        if config.custom_ops:
            _enable_custom_ops(model, spec)
        feeds = make_inputs(spec, config.batch, *size, seed=config.seed)
        example = tuple(torch.from_numpy(feeds[i.name]) for i in spec.inputs)

        progress(
            f"[{next(step)}/{steps}] exporting ONNX (opset {config.opset}, {config.exporter} exporter"
            f"{', dynamic batch/H/W' if config.dynamic else ''})"
        )
        proto = export_onnx(
            model,
            example,
            input_names=[i.name for i in spec.inputs],
            output_name=spec.output,
            opset=config.opset,
            dynamic=config.dynamic,
            exporter=config.exporter,
            custom_opsets={"edgeattn": 1} if config.custom_ops else None,
        )

        progress(f"[{next(step)}/{steps}] simplifying ({config.simplify})")
        proto = simplify(proto, config.simplify)
        _stamp_metadata(proto, spec, config)
        lower_ir_version(proto, profile)  # the IR version the device's ONNX Runtime loads, where the opset allows

        progress(f"[{next(step)}/{steps}] auditing ops for {target.name}")
        report = audit(proto, target.name, trt_version(profile))
        if report.errors:
            lines = "; ".join(f"{f.op} {f.node}: {f.message}" for f in report.errors[:5])
            raise ExportError(f"the graph cannot run on {target.name}: {lines}")

        progress(f"[{next(step)}/{steps}] writing {target.name} artefacts")
        onnx_path = stage / MODEL_ONNX
        onnx_path.write_bytes(proto.SerializeToString())
        if config.target != "trt":
            _target_artefacts(config, spec, size, stage, onnx_path)
        outcome = apply_export_precision(config, spec, size, stage, onnx_path, _num_outputs(proto), progress)
        if config.target == "trt":  # after the precision step: the recipe records (and build_engine.sh hashes)
            _target_artefacts(config, spec, size, stage, onnx_path)  # the final model.onnx (Q/DQ, float16)
        # the proof covers the file that ships, not its source
        report = audit_shipped(onnx_path, target.name, trt_version(profile))

        sizes = [size, *config.parity_sizes]
        progress(f"[{next(step)}/{steps}] reference inputs/outputs from the exported weights "
                 f"({', '.join(f'{h}x{w}' for h, w in sizes)})")
        cases = reference_cases(model, spec, config, sizes, progress)
        entries = [write_case(stage, c) for c in cases]
        manifest = build_manifest(config, spec, size, report, entries, weights, runtimes,
                             list(cases[0].outputs[spec.output].shape))
        if conversion is not None:
            manifest["model"], manifest["conversion"] = config.model, conversion
        manifest.update(ship_library(config, stage))  # the compiled kernels (--target openvino --custom-ops)
        if config.target == "openvino":
            manifest.update(_notes(stage, manifest))
        if profile is not None:  # the SHIPPED model.onnx (after the precision step) must load on the device
            manifest["device"] = device_manifest(profile, config.target, check_loadable(onnx_path, profile),
                                                 trt_build_notes(stage, profile) if config.target == "trt" else [])
        if outcome is not None:
            manifest["precision_report"] = outcome.manifest
            manifest["tolerances"].update(outcome.tolerances)
        finalize(stage, manifest)

        verification = None
        if check:
            progress(f"[{next(step)}/{steps}] verifying the staged bundle ({', '.join(runtimes)})")
            verification = verifier(stage, runtimes=runtimes, threads=config.threads, progress=progress)
            manifest["parity"] = [r.to_dict() for r in verification.rows]
            manifest["verdict"] = verification.verdict
            write_manifest(stage, manifest)  # files are unchanged; the manifest does not hash itself
            pub.failed = verification.verdict == "failed"
        if outcome is not None and outcome.passed is False:  # over the accuracy bound: refused, kept apart
            manifest["verdict"] = "failed"
            manifest["refused"] = outcome.refusal
            write_manifest(stage, manifest)
            pub.failed = True
        if config.sign_key is not None:  # last: the signature covers the final manifest; never half-signed
            progress(f"  signing the staged bundle with {config.sign_key}")
            sign_bundle(stage, Path(config.sign_key), manifest)
    progress(f"[{next(step)}/{steps}] wrote {pub.destination}"
             + ("  (verdict FAILED: kept apart, the previous bundle is untouched)" if pub.failed else ""))
    return ExportResult(folder=pub.destination, manifest=manifest, audit=report, verification=verification,
                        notes=pub.notes)


def _num_outputs(proto: onnx.ModelProto) -> int:
    """Channels of the graph's output (the class count of a segmentation model)."""
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    return int(dims[1].dim_value) if len(dims) > 1 and dims[1].dim_value else 19


def _notes(stage: Path, manifest: dict) -> dict:
    """Manifest notes a user of the files needs (how to load a custom-op IR)."""
    from .openvino import custom_op_note

    library = ((manifest.get("extensions") or {}).get("openvino") or {}).get("file")
    note = custom_op_note(stage / "model.xml", library) if (stage / "model.xml").is_file() else None
    return {"notes": [note]} if note else {}


def _target_artefacts(
    config: ExportConfig, spec: ModelSpec, size: tuple[int, int], stage: Path, onnx_path: Path
) -> list[Path]:
    """Write the target's files beside model.onnx (the manifest hashes whatever the folder holds)."""
    if config.target == "openvino":
        from .openvino import convert_to_openvino

        return convert_to_openvino(onnx_path, stage, fp16_weights=config.precision in ("fp16", "fp16-weights"),
                                   library=conversion_library(config))
    if config.target == "trt":
        return trt_artefacts(config, spec, size, stage, onnx_path)
    return []


def _stamp_metadata(proto: onnx.ModelProto, spec: ModelSpec, config: ExportConfig) -> None:
    meta = {
        "edgeattn.model": spec.name,
        "edgeattn.task": spec.task,
        "edgeattn.version": __version__,
        "edgeattn.input_range": "RGB float32 in [0, 1], NCHW; normalisation is inside the graph",
    }
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name = "edgeattn"
    proto.producer_version = __version__
