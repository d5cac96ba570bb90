"""Build a bundle's TensorRT engine with the TensorRT Python API, version-aware, without PyTorch.

UNVERIFIED on a GPU: written against the TensorRT 10.x and 11.x Python API documentation (Builder, OnnxParser,
IBuilderConfig, IOptimizationProfile, ITimingCache; the 10.x -> 11.x migration guide for what 11 removed) and
reviewed against it, but never run: no machine of this project has TensorRT. What runs here: the recipe and mode
logic (`modes.py`), the hash checks before anything is loaded, the device_files record, and the errors.

    python -m edgeattn.tensorrt.build BUNDLE      # reads trt_recipe.json, writes model.engine, updates manifest.json

Before it uses a file of the bundle (trt_recipe.json, model.onnx, plugin libraries) it checks that file's SHA-256
against manifest.json, so a plugin path is dlopened only once its library is known to be the one that shipped.
The engine (edgeattn's header + the plan, `engine_file.py`) and the timing cache are then recorded under the
manifest's `device_files` with the hash of the model.onnx they were built from and the TensorRT version.
TensorRT and CUDA are imported inside functions: importing this module needs neither.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path
from typing import Any

from .._version import __version__
from .._atomic import atomic_write_bytes
from ..bundle import MANIFEST, check_integrity, read_manifest, sha256_file
from ..bundle.manifest import read_device_records, write_device_records
from ..bundle.model_files import check_model_files
from ..cli import ArgumentParser, run_cli
from ..errors import ExportError, IntegrityError, InvalidOptionError, MissingDependencyError
from .engine_file import write_engine
from .modes import BuildMode, build_mode
from .recipe import ENGINE_NAME, TrtRecipe, format_profile, profile_shapes, read_recipe

__all__ = ["build_engine", "build_plan", "check_shipped_files", "record_device_files", "record_trtexec_engine",
           "main"]


def _import_trt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise MissingDependencyError(
            "TensorRT is not installed: on a Jetson use docker/jetson (JetPack 6.1 ships TensorRT 10.3, JetPack 7.2 "
            "10.16), elsewhere pip install 'edgeattn[tensorrt]' from NVIDIA's index; or run ./build_engine.sh with "
            "trtexec") from None
    return trt


def check_shipped_files(folder: Path) -> dict:
    """Integrity of every shipped file (the manifest's `files`: recipe, model.onnx, plugin libraries, scripts,
    reference) before anything is parsed or dlopened; returns the manifest. IntegrityError (exit 2) names the file.
    Device files are not judged here: the engine and timing cache are what this build replaces."""
    manifest = read_manifest(Path(folder))
    check_integrity(Path(folder), {**manifest, "device_files": {}})
    return manifest


def record_device_files(folder: Path, paths: list[Path], built_from: str, tensorrt: str) -> dict:
    """Add `paths` to the device records, device_files.json ({sha256, bytes, built_from, tensorrt}), rewritten
    atomically; returns the manifest as read_manifest merges them. manifest.json is never rewritten, so a signed
    bundle stays signed: the records are outside the signed set and verify --trust reports them as unsigned."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    device = read_device_records(folder)
    for path in paths:
        rel = Path(path).relative_to(folder).as_posix()
        if rel in manifest["files"]:
            raise IntegrityError(f"{rel} is a shipped file of {folder}: a device build cannot replace it")
        device[rel] = {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size, "built_from": built_from,
                       "tensorrt": tensorrt}
    write_device_records(folder, device)
    return read_manifest(folder)


def _load_plugins(trt: Any, logger: Any, libraries: list[Path]) -> None:
    trt.init_libnvinfer_plugins(logger, "")  # TensorRT's own plugins (registered under the "" namespace)
    for lib in libraries:
        try:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)  # the library registers its creators on load
        except OSError as exc:
            raise ExportError(f"cannot load TensorRT plugin library {str(lib)!r}: {exc}") from None


def build_engine(folder: Path, recipe: TrtRecipe | None = None, onnx_name: str = "model.onnx",
                 engine_name: str = ENGINE_NAME, check_hashes: bool = True, progress=print) -> Path:
    """Build `folder/model.engine` from the bundle's model.onnx and trt_recipe.json.

    With `check_hashes` (the default, for shipped bundles) every input file is checked against manifest.json first
    and the engine and timing cache are recorded under `device_files`; the exporter passes False and its own recipe
    while it is still writing the bundle (the manifest does not exist yet and lists the engine itself)."""
    folder = Path(folder)
    if check_hashes:
        manifest = check_shipped_files(folder)
        recipe = recipe or read_recipe(folder)
        unshipped = [p for p in (onnx_name, *recipe.plugins) if p not in manifest["files"]]
        if unshipped:
            raise IntegrityError(f"{', '.join(unshipped)} not listed in {folder / MANIFEST}: refusing to use files "
                                 "the bundle did not ship")
        check_model_files(folder, manifest, folder / onnx_name)  # the parser opens its external data too
    recipe = recipe or read_recipe(folder)
    trt = _import_trt()
    mode = build_mode(recipe, trt.__version__)
    progress(f"building {folder / engine_name}: {mode.note}; profile {format_profile(profile_shapes(recipe))}")
    plan, meta = build_plan(folder / onnx_name, recipe, folder, plugin_dir=folder, mode=mode)
    engine = write_engine(folder / engine_name, plan, meta)
    if check_hashes:
        built = [engine] + ([folder / recipe.timing_cache] if recipe.timing_cache else [])
        record_device_files(folder, [p for p in built if p.is_file()], sha256_file(folder / onnx_name),
                            trt.__version__)
    return engine


def build_plan(onnx_path: Path, recipe: TrtRecipe, cache_dir: Path, plugin_dir: Path | None = None,
               mode: BuildMode | None = None) -> tuple[bytes, dict]:
    """The serialized plan and its metadata; the timing cache lives in `cache_dir`. Plugin libraries are loaded
    from `plugin_dir` (the bundle; the caller has checked their hashes)."""
    cache_dir = Path(cache_dir)
    shapes = profile_shapes(recipe)  # validates the recipe before anything heavy
    if recipe.plugins and plugin_dir is None:
        raise InvalidOptionError("the recipe names plugin libraries: build from the bundle folder")
    trt = _import_trt()
    mode = mode or build_mode(recipe, trt.__version__)
    logger = trt.Logger(trt.Logger.WARNING)
    _load_plugins(trt, logger, [Path(plugin_dir) / p for p in recipe.plugins] if plugin_dir else [])
    builder = trt.Builder(logger)
    # explicit batch is the only mode since 10.0; STRONGLY_TYPED is required on 10.x and ignored on 11.x
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if mode.strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT's ONNX parser rejected {onnx_path}: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, recipe.workspace_mib << 20)
    for flag in mode.builder_flags:  # FP16 / INT8: 10.x only (build_mode never returns them for 11.x)
        config.set_flag(getattr(trt.BuilderFlag, flag))
    profile = builder.create_optimization_profile()
    for name, p in shapes.items():
        profile.set_shape(name, p.min, p.opt, p.max)
    config.add_optimization_profile(profile)
    if recipe.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = recipe.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    cache_path = cache_dir / recipe.timing_cache if recipe.timing_cache else None
    timing_cache = None
    if cache_path is not None:
        blob = _read_timing_cache(cache_path)
        timing_cache = config.create_timing_cache(blob)
        config.set_timing_cache(timing_cache, ignore_mismatch=False)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError("TensorRT failed to build the engine (see the TensorRT log above)")
    if timing_cache is not None and cache_path is not None:
        atomic_write_bytes(cache_path, bytes(timing_cache.serialize()))
    return bytes(plan), _metadata(trt, recipe, mode, shapes, network)


def _metadata(trt: Any, recipe: TrtRecipe, mode: BuildMode, shapes: dict, network: Any) -> dict:
    from .cuda import device_name

    return {
        "producer": f"edgeattn {__version__}",
        "model": recipe.model,
        "precision": recipe.precision,
        "graph": recipe.graph,
        "typing": mode.typing,
        "tensorrt": trt.__version__,
        "device": device_name(0),
        "dla_core": recipe.dla_core,
        "inputs": [network.get_input(i).name for i in range(network.num_inputs)],
        "outputs": [network.get_output(i).name for i in range(network.num_outputs)],
        "profile": {n: {"min": p.min, "opt": p.opt, "max": p.max} for n, p in shapes.items()},
    }


def record_trtexec_engine(folder: Path, engine_name: str = ENGINE_NAME) -> Path:
    """Record an engine that build_engine.sh (trtexec) wrote: shipped files checked, then `device_files` updated.
    The TensorRT version comes from the `tensorrt` module, else EDGEATTN_TRT_VERSION, else 'unknown (trtexec)'."""
    import importlib.util
    import os

    folder = Path(folder)
    check_shipped_files(folder)
    engine = folder / engine_name
    if not engine.is_file():
        raise InvalidOptionError(f"{engine} does not exist: run {folder / 'build_engine.sh'} first")
    version = os.environ.get("EDGEATTN_TRT_VERSION", "") or "unknown (trtexec)"
    if importlib.util.find_spec("tensorrt") is not None:
        version = _import_trt().__version__
    recipe = read_recipe(folder)
    built = [engine] + ([folder / recipe.timing_cache] if recipe.timing_cache else [])
    record_device_files(folder, [p for p in built if p.is_file()], sha256_file(folder / "model.onnx"), version)
    return engine


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("tensorrt.build",
                       description="Build model.engine (TensorRT Python API) in a bundle written by "
                       "`python -m edgeattn.export --target trt`, after checking its hashes; run it on the target "
                       "device. Records the engine under device_files in manifest.json.")
    p.add_argument("bundle", type=Path, help="bundle folder with manifest.json, model.onnx and trt_recipe.json")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check-only", action="store_true",
                      help="only check every shipped file against manifest.json (no TensorRT needed)")
    mode.add_argument("--record-trtexec", action="store_true",
                      help="record the model.engine that build_engine.sh (trtexec) wrote under device_files")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.check_only:
            manifest = check_shipped_files(args.bundle)
            print(f"integrity: {len(manifest['files'])} shipped files of {args.bundle} match {MANIFEST}")
            return 0
        if args.record_trtexec:
            path = record_trtexec_engine(args.bundle)
            print(f"engine: {path} recorded in {args.bundle / MANIFEST} under device_files")
            return 0
        path = build_engine(args.bundle)
        print(f"engine: {path} (recorded in {args.bundle / MANIFEST} under device_files)")
        return 0

    return run_cli("tensorrt.build", body, interrupted="no engine recorded")


if __name__ == "__main__":
    sys.exit(main())


# A TensorRT timing cache holds one entry per timed tactic: KBs to a few MB; anything past 256 MiB is not one.
MAX_TIMING_CACHE_BYTES = 256 << 20


def _read_timing_cache(path: Path, limit: int = MAX_TIMING_CACHE_BYTES) -> bytes:
    """The recipe's timing cache (b"" when absent), never more than `limit` bytes."""
    from .._bounded import FileTooLarge, read_bounded

    if not path.is_file():
        return b""
    try:
        return read_bounded(path, limit)
    except FileTooLarge:
        raise InvalidOptionError(f"timing cache {str(path)!r} holds more than {limit >> 20} MiB, more than a "
                                 "TensorRT timing cache does: delete it (the build recreates it)") from None
