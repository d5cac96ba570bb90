"""Build a TensorRT engine from an export folder with the TensorRT 10 Python API.

UNVERIFIED: written against the TensorRT 10.x Python API documentation (Builder, OnnxParser, IBuilderConfig,
IOptimizationProfile, IInt8EntropyCalibrator2, ITimingCache) and reviewed line by line against it, but never run:
no machine of this project has TensorRT. The recipe logic it consumes (`tensorrt.py`) is tested here.

    python -m edgeattn.export.trt_build ARTEFACT_DIR   # reads trt_recipe.json, writes model.engine

The same recipe drives `build_engine.sh` (trtexec); this route additionally calibrates INT8 on edgeattn's
deterministic inputs (`parity.make_inputs`, seeds 0..calib_batches-1, the export batch and size), writes the
calibration cache (reused by both routes), and wraps the plan in edgeattn's engine header (`engine_file.py`).
All TensorRT and CUDA imports are inside functions: importing this module needs neither.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._atomic import atomic_write_bytes
from ..errors import EdgeAttnError, ExportError, MissingDependencyError
from ..runtimes.engine_file import write_engine
from .tensorrt import ENGINE_NAME, TrtRecipe, profile_shapes, read_recipe

__all__ = ["build_engine", "build_plan", "calibration_batches", "main"]


def _import_trt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise MissingDependencyError(
            "TensorRT is not installed: on a Jetson use docker/jetson (JetPack 6 ships TensorRT 10.3), elsewhere "
            "pip install 'edgeattn[tensorrt]' from NVIDIA's index; or run ./build_engine.sh with trtexec") from None
    return trt


def calibration_batches(recipe: TrtRecipe) -> list[dict[str, np.ndarray]]:
    """The INT8 calibration set: `calib_batches` deterministic input batches at the export batch and size."""
    from ..models import get_model_spec
    from ..data.inputs import make_inputs

    spec = get_model_spec(recipe.model)
    return [make_inputs(spec, recipe.batch, *recipe.size, seed=i) for i in range(recipe.calib_batches)]


def _calibrator(trt: Any, recipe: TrtRecipe, cache_path: Path) -> Any:
    """An IInt8EntropyCalibrator2 fed from torch CUDA tensors; the class is defined here because its base class
    exists only once TensorRT is imported."""
    import torch

    class EdgeAttnCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)  # pybind11 trampolines need the explicit base __init__
            self._batches = iter(calibration_batches(recipe))
            self._device: dict[str, torch.Tensor] = {}  # kept alive while TensorRT reads the pointers

        def get_batch_size(self) -> int:
            return recipe.batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            feeds = next(self._batches, None)
            if feeds is None:
                return None  # calibration set exhausted
            self._device = {n: torch.from_numpy(feeds[n]).cuda().contiguous() for n in names}
            return [int(self._device[n].data_ptr()) for n in names]

        def read_calibration_cache(self) -> bytes | None:
            return cache_path.read_bytes() if cache_path.is_file() and cache_path.stat().st_size else None

        def write_calibration_cache(self, cache: Any) -> None:
            atomic_write_bytes(cache_path, bytes(cache))

    return EdgeAttnCalibrator()


def _load_plugins(trt: Any, logger: Any, plugins: tuple[str, ...]) -> None:
    trt.init_libnvinfer_plugins(logger, "")  # TensorRT's own plugins (registered under the "" namespace)
    for lib in plugins:
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)  # the library registers its creators on load
        except OSError as exc:
            raise ExportError(f"cannot load TensorRT plugin library {lib!r}: {exc}") from None


def build_engine(folder: Path, recipe: TrtRecipe | None = None, onnx_name: str = "model.onnx",
                 engine_name: str = ENGINE_NAME) -> Path:
    """Parse `folder/model.onnx`, build with the recipe's config, write `folder/model.engine` with its header;
    the timing and calibration caches are read from and written to `folder`."""
    folder = Path(folder)
    recipe = recipe or read_recipe(folder)
    plan, meta = build_plan(folder / onnx_name, recipe, folder)
    return write_engine(folder / engine_name, plan, meta)


def build_plan(onnx_path: Path, recipe: TrtRecipe, cache_dir: Path) -> tuple[bytes, dict]:
    """The serialized plan and its metadata; caches (timing, INT8 calibration) live in `cache_dir`."""
    cache_dir = Path(cache_dir)
    shapes = profile_shapes(recipe)  # validates the recipe before anything heavy
    trt = _import_trt()
    logger = trt.Logger(trt.Logger.WARNING)
    _load_plugins(trt, logger, recipe.plugins)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode; the flag is gone
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT's ONNX parser rejected {onnx_path}: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, recipe.workspace_mib << 20)
    if recipe.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, p in shapes.items():
        profile.set_shape(name, p.min, p.opt, p.max)
    config.add_optimization_profile(profile)
    if recipe.precision == "int8":
        if not recipe.model:
            raise ExportError("INT8 calibration needs the model name (edgeattn.model metadata / trt_recipe.json)")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _calibrator(trt, recipe, cache_dir / recipe.calib_cache)
        config.set_calibration_profile(profile)  # calibration runs at the profile's opt shape
    if recipe.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = recipe.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    cache_path = cache_dir / recipe.timing_cache if recipe.timing_cache else None
    timing_cache = None
    if cache_path is not None:
        blob = cache_path.read_bytes() if cache_path.is_file() else b""
        timing_cache = config.create_timing_cache(blob)
        config.set_timing_cache(timing_cache, ignore_mismatch=False)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError("TensorRT failed to build the engine (see the TensorRT log above)")
    if timing_cache is not None and cache_path is not None:
        atomic_write_bytes(cache_path, bytes(timing_cache.serialize()))
    return bytes(plan), _metadata(trt, recipe, shapes, network)


def _metadata(trt: Any, recipe: TrtRecipe, shapes: dict, network: Any) -> dict:
    import torch

    return {
        "producer": f"edgeattn {__version__}",
        "model": recipe.model,
        "precision": recipe.precision,
        "tensorrt": trt.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "",
        "dla_core": recipe.dla_core,
        "inputs": [network.get_input(i).name for i in range(network.num_inputs)],
        "outputs": [network.get_output(i).name for i in range(network.num_outputs)],
        "profile": {n: {"min": p.min, "opt": p.opt, "max": p.max} for n, p in shapes.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgeattn.export.trt_build",
                                description="Build model.engine (TensorRT Python API) from an export folder written "
                                "by `python -m edgeattn.export --target trt`; run it on the target device.")
    p.add_argument("folder", type=Path, help="export folder with model.onnx and trt_recipe.json")
    args = p.parse_args(argv)
    try:
        path = build_engine(args.folder)
    except EdgeAttnError as exc:
        print(f"edgeattn.export.trt_build: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"engine: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
