"""The export job: model -> ONNX -> simplified ONNX -> audit -> target artefacts -> parity -> manifest.

Everything is written into a staging folder beside `<output>/<model>/` and moved into place only when
the whole job has finished, so an interrupted or failed export never leaves a folder that looks complete.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import onnx
import torch

from .. import __version__
from .._atomic import atomic_write_text, check_writable_dir, sha256_file, staging_dir
from ..errors import ExportError, InvalidOptionError, unknown
from ..models import ModelSpec, check_input_size, create_model, get_model_spec
from ..parity import Comparison, compare, make_inputs, unavailable
from ..runtimes import RuntimeOptions, TorchRuntime, check_available, load_runtime, runtime_class
from .audit import AuditReport, audit
from .config import PRECISIONS, ExportConfig
from .onnx import export_onnx
from .simplify import simplify
from .targets import get_target

__all__ = ["ExportResult", "export", "validate"]

Progress = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class ExportResult:
    folder: Path
    manifest: dict
    audit: AuditReport
    parity: list[Comparison] = field(default_factory=list)

    @property
    def parity_passed(self) -> bool:
        return all(c.status != "failed" for c in self.parity)


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"edgeattn": __version__, "python": sys.version.split()[0]}
    for pkg in ("torch", "onnx", "onnxruntime", "openvino", "onnxslim", "onnxsim", "onnxscript"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out



def validate(config: ExportConfig) -> tuple[ModelSpec, tuple[int, int], list[str]]:
    """Check every option before any work starts; returns (spec, size, parity runtimes)."""
    spec = get_model_spec(config.model)
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
    if not 7 <= config.opset <= 23:
        raise InvalidOptionError(f"--opset {config.opset} is out of range: use 7..23 (default 17)")
    if config.parity_sizes and not config.dynamic:
        raise InvalidOptionError("--parity-size needs --dynamic (a static graph only runs at its export size)")
    for s in config.parity_sizes:
        check_input_size(spec, s)
    if config.threads is not None and config.threads < 1:
        raise InvalidOptionError(f"--threads must be >= 1, got {config.threads}")
    runtimes: list[str] = []
    if config.parity:
        if config.runtimes is not None:
            for name in config.runtimes:
                check_available(name)  # explicitly asked for: must be installed
            runtimes = list(config.runtimes)
        else:
            runtimes = list(target.parity_runtimes)
    if config.checkpoint is not None and not Path(config.checkpoint).is_file():
        raise InvalidOptionError(f"--checkpoint {str(config.checkpoint)!r} does not exist")
    if config.pretrained:
        if config.checkpoint is not None:
            raise InvalidOptionError("--pretrained and --checkpoint exclude each other: pass one of them")
        from ..models.pretrained import weights_info

        weights_info(spec.name)  # no shipped weights: one line naming the models that have them
    _check_trt_options(config, spec, size)
    if config.custom_ops:
        _check_custom_ops(config, runtimes)
    check_writable_dir(Path(config.output))
    return spec, size, runtimes


def _check_custom_ops(config: ExportConfig, runtimes: list[str]) -> None:
    """A custom-op graph goes only where a kernel for its nodes exists (see edgeattn.ops)."""
    from ..ops import CUSTOM_OP_RUNTIMES, CUSTOM_OP_TARGETS

    can_run = f"targets that can run it: {', '.join(CUSTOM_OP_TARGETS)} (ort needs onnxruntime-extensions)"
    if config.target == "trt" and not config.trt_plugins:
        raise InvalidOptionError(
            "--custom-ops graphs cannot run on --target trt without a TensorRT plugin for the edgeattn ops; "
            f"{can_run}. "
            "Export without --custom-ops for TensorRT, or pass --trt-plugin LIB implementing the plugin contract "
            "in docs (EdgeAttnCrissCross / EdgeAttnPatchMatch, version 1, namespace edgeattn)"
        )
    if config.target not in (*CUSTOM_OP_TARGETS, "trt"):
        raise InvalidOptionError(f"--custom-ops is not available for --target {config.target}; {can_run}")
    bad = [r for r in runtimes if r not in CUSTOM_OP_RUNTIMES]
    if bad:
        raise InvalidOptionError(
            f"--custom-ops graphs cannot be checked on {', '.join(bad)} (no kernel there); "
            f"use --runtimes {','.join(CUSTOM_OP_RUNTIMES)} or --no-parity"
        )
    if config.exporter != "torchscript":
        raise InvalidOptionError(
            "--custom-ops needs --exporter torchscript (the dynamo exporter ignores the ops' "
            "ONNX lowering and would trace through them)"
        )


_TRT_FLAGS = {
    "workspace_mib": "--workspace",
    "dla_core": "--dla-core",
    "min_size": "--min-size",
    "max_size": "--max-size",
    "max_batch": "--max-batch",
    "calib_batches": "--calib-batches",
    "trt_plugins": "--trt-plugin",
}


def _check_trt_options(config: ExportConfig, spec: ModelSpec, size: tuple[int, int]) -> None:
    """TensorRT flags apply to --target trt only (never silently ignored); with it, the recipe must be valid."""
    if config.target != "trt":
        default = ExportConfig(model=config.model)
        used = [flag for key, flag in _TRT_FLAGS.items() if getattr(config, key) != getattr(default, key)]
        if used:
            raise InvalidOptionError(f"{', '.join(used)} apply to --target trt only (got --target {config.target})")
        return
    for s in (config.min_size, config.max_size):
        if s is not None:
            check_input_size(spec, s)
    _trt_recipe(config, spec, size, custom_ops=())


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
            "per input size (--input-size HxW)"
        )


def _enable_custom_ops(model: torch.nn.Module, spec: ModelSpec) -> None:
    from ..ops import enable_custom_ops

    if enable_custom_ops(model) == 0:
        raise InvalidOptionError(
            f"--custom-ops: {spec.name} has no layer with a custom op (criss-cross or PatchMatch "
            "attention); export it without --custom-ops"
        )


def _runtime_precision(runtime: str, config: ExportConfig) -> str:
    # The ONNX graph is fp32; only OpenVINO computes in the requested lower precision on this CPU.
    # TensorRT computes in the precision its engine was built for.
    return config.precision if runtime in ("openvino", "tensorrt") else "fp32"


def run_parity(
    model: torch.nn.Module,
    spec: ModelSpec,
    folder: Path,
    runtimes: list[str],
    config: ExportConfig,
    sizes: list[tuple[int, int]],
    progress: Progress = _stderr,
) -> list[Comparison]:
    names = [i.name for i in spec.inputs]
    torch_rt = TorchRuntime(model, names, threads=config.threads)
    exact_rt = TorchRuntime(copy.deepcopy(model).double(), names, threads=config.threads, dtype=torch.float64)
    rows: list[Comparison] = []
    loaded = {}
    for size in sizes:
        feeds = make_inputs(spec, config.batch, *size, seed=config.seed)
        expected = torch_rt.infer(feeds)
        exact = exact_rt.infer(feeds)
        label = f"{size[0]}x{size[1]}"
        for name in runtimes:
            precision = _runtime_precision(name, config)
            ok, why = runtime_class(name).available()
            if not ok:
                row = unavailable(name, why, precision)
            else:
                if name not in loaded:
                    progress(f"  loading {name} ...")
                    loaded[name] = load_runtime(
                        name, folder, RuntimeOptions(threads=config.threads, precision=precision)
                    )
                progress(f"  parity {name} at {label} ...")
                row = compare(
                    expected, loaded[name].infer(feeds), runtime=name, precision=precision, task=spec.task, exact=exact
                )
            row.size = label
            rows.append(row)
    for rt in loaded.values():
        rt.close()
    return rows


def export(config: ExportConfig, progress: Progress = _stderr) -> ExportResult:
    spec, size, runtimes = validate(config)
    target = get_target(config.target)
    final = Path(config.output) / spec.name
    steps = 5 + (1 if runtimes else 0)
    step = iter(range(1, steps + 1))

    progress(f"[{next(step)}/{steps}] building {spec.name} ({spec.task}), input {config.batch}x{size[0]}x{size[1]}")
    model = _build_model(config)
    if config.dynamic:
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

    progress(f"[{next(step)}/{steps}] auditing ops for {target.name}")
    report = audit(proto, target.name)
    if report.errors:
        lines = "; ".join(f"{f.op} {f.node}: {f.message}" for f in report.errors[:5])
        raise ExportError(f"the graph cannot run on {target.name}: {lines}")

    with staging_dir(final) as stage:
        progress(f"[{next(step)}/{steps}] writing {target.name} artefacts")
        onnx_path = stage / "model.onnx"
        onnx_path.write_bytes(proto.SerializeToString())
        extra = _target_artefacts(config, spec, size, stage, onnx_path)
        rows: list[Comparison] = []
        if runtimes:
            progress(f"[{next(step)}/{steps}] parity against PyTorch ({', '.join(runtimes)})")
            sizes = [size, *config.parity_sizes]
            rows = run_parity(model, spec, stage, runtimes, config, sizes, progress)
        manifest = _manifest(config, spec, size, proto, report, rows, [onnx_path, *extra], extra_info={})
        atomic_write_text(stage / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    progress(f"[{steps}/{steps}] wrote {final}")
    return ExportResult(folder=final, manifest=manifest, audit=report, parity=rows)


def _target_artefacts(
    config: ExportConfig, spec: ModelSpec, size: tuple[int, int], stage: Path, onnx_path: Path
) -> list[Path]:
    if config.target == "openvino":
        from .openvino import convert_to_openvino

        return convert_to_openvino(onnx_path, stage, fp16_weights=config.precision == "fp16")
    if config.target == "trt":
        return _trt_artefacts(config, spec, size, stage, onnx_path)
    return []


def _trt_recipe(config: ExportConfig, spec: ModelSpec, size: tuple[int, int], custom_ops: tuple[str, ...]):
    from .tensorrt import recipe_for_export

    return recipe_for_export(
        model=spec.name,
        input_names=tuple(i.name for i in spec.inputs),
        channels=tuple(i.channels for i in spec.inputs),
        batch=config.batch,
        size=size,
        dynamic=config.dynamic,
        precision=config.precision,
        model_min_size=spec.min_size,
        min_size=config.min_size,
        max_size=config.max_size,
        max_batch=config.max_batch,
        workspace_mib=config.workspace_mib,
        dla_core=config.dla_core,
        calib_batches=config.calib_batches,
        plugins=config.trt_plugins,
        custom_ops=custom_ops,
    )


def _trt_artefacts(
    config: ExportConfig, spec: ModelSpec, size: tuple[int, int], stage: Path, onnx_path: Path
) -> list[Path]:
    """trt_recipe.json + build_engine.sh always; model.engine too where TensorRT and a GPU are present."""
    from .tensorrt import write_build_script, write_recipe

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    custom_ops = tuple(sorted({n.op_type for n in graph.node if n.domain not in ("", "ai.onnx")}))
    recipe = _trt_recipe(config, spec, size, custom_ops)
    files = [write_recipe(recipe, stage), write_build_script(recipe, stage)]
    if runtime_class("tensorrt").available()[0]:
        from .trt_build import build_engine

        files.append(build_engine(stage, recipe))  # UNVERIFIED path: needs TensorRT + GPU
    return files


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


def _manifest(
    config: ExportConfig,
    spec: ModelSpec,
    size: tuple[int, int],
    proto: onnx.ModelProto,
    report: AuditReport,
    rows: list[Comparison],
    files: list[Path],
    extra_info: dict,
) -> dict:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    shape = [config.batch, None, *size]
    dims = ["batch", None, "height", "width"] if config.dynamic else None
    return {
        "model": spec.name,
        "task": spec.task,
        "target": config.target,
        "inputs": [
            {
                "name": i.name,
                "shape": [shape[0], i.channels, *size],
                "dynamic_axes": dims,
                "dtype": "float32",
                "layout": "NCHW",
                "range": [0.0, 1.0],
                "normalisation": "inside the graph (ImageNet mean/std)",
            }
            for i in spec.inputs
        ],
        "output": spec.output,
        "opset": config.opset,
        "options": options,
        "tools": _tool_versions(),
        "files": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files},
        "audit": report.to_dict(),
        "parity": [r.to_dict() for r in rows],
        "parity_passed": all(r.status != "failed" for r in rows) if rows else None,
        **extra_info,
    }
