"""The export's TensorRT hooks (host side): the trt flags checked up front, and the files a trt bundle ships
(trt_recipe.json, build_engine.sh, plugin libraries; model.engine where TensorRT and a GPU are present).

Split out of pipeline.py; the recipe itself is `edgeattn.tensorrt.recipe`, the build script
`edgeattn.tensorrt.commands`, the engine build `edgeattn.tensorrt.build`.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from .._atomic import atomic_write_bytes
from ..errors import InvalidOptionError
from ..models import ModelSpec, check_input_size
from ..runtimes import runtime_class
from .config import ExportConfig

__all__ = ["check_trt_options", "trt_recipe", "trt_artefacts", "trt_build_notes"]


_TRT_FLAGS = {
    "workspace_mib": "--workspace",
    "dla_core": "--dla-core",
    "min_size": "--min-size",
    "max_size": "--max-size",
    "max_batch": "--max-batch",
    "trt_plugins": "--trt-plugin",
}


def check_trt_options(config: ExportConfig, spec: ModelSpec, size: tuple[int, int]) -> None:
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
    for lib in config.trt_plugins:
        if not Path(lib).is_file():
            raise InvalidOptionError(f"--trt-plugin {lib}: no such file; the plugin library ships in the bundle "
                                     "(hashed in its manifest), so it must exist where you export")
    # the graph each precision writes (fp16: float16 with float32 islands, int8: Q/DQ); checked again on the
    # written model.onnx, whose kind the recipe records
    expected = {"fp32": "fp32", "fp16": "fp16", "int8": "qdq"}[config.precision]
    plugins = tuple(Path(lib).name for lib in config.trt_plugins)
    trt_recipe(config, spec, size, expected, (), plugins)


def trt_recipe(config: ExportConfig, spec: ModelSpec, size: tuple[int, int], graph: str,
                custom_ops: tuple[str, ...], plugins: tuple[str, ...]):
    from ..tensorrt.recipe import recipe_for_export

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
        graph=graph,
        plugins=plugins,
        custom_ops=custom_ops,
    )


def trt_artefacts(
    config: ExportConfig, spec: ModelSpec, size: tuple[int, int], stage: Path, onnx_path: Path
) -> list[Path]:
    """trt_recipe.json + build_engine.sh (+ the plugin libraries, copied into the bundle so that they are hashed
    with it); model.engine too where TensorRT and a GPU are present."""
    from ..tensorrt.commands import write_build_script
    from ..tensorrt.onnx_recipe import graph_kind
    from ..tensorrt.recipe import write_recipe

    proto = onnx.load(str(onnx_path), load_external_data=False)
    custom_ops = tuple(sorted({n.op_type for n in proto.graph.node if n.domain not in ("", "ai.onnx")}))
    plugin_files = []
    for lib in config.trt_plugins:
        src = Path(lib)
        plugin_files.append(atomic_write_bytes(stage / src.name, src.read_bytes()))
    recipe = trt_recipe(config, spec, size, graph_kind(proto), custom_ops, tuple(p.name for p in plugin_files))
    files = [*plugin_files, write_recipe(recipe, stage), write_build_script(recipe, stage)]
    if runtime_class("tensorrt").available()[0]:
        from ..tensorrt.build import build_engine

        files.append(build_engine(stage, recipe, check_hashes=False))  # UNVERIFIED path: needs TensorRT + GPU
    return files


def trt_build_notes(stage: Path, profile) -> list[str]:  # noqa: ANN001 - a devices.DeviceProfile
    """How the device's TensorRT builds the staged recipe (refused, exit 2, where it cannot), and how the later
    TensorRT the device can get would (a note only: JetPack 7.2.2's TensorRT 11.4 has no weak typing)."""
    from ..tensorrt.modes import build_mode
    from ..tensorrt.recipe import read_recipe

    recipe = read_recipe(stage)
    notes = [build_mode(recipe, profile.tensorrt).note]
    if profile.tensorrt_next:
        try:
            notes.append(build_mode(recipe, profile.tensorrt_next).note)
        except InvalidOptionError as exc:
            notes.append(f"TensorRT {profile.tensorrt_next} (a later JetPack on this device) cannot build it: {exc}")
    return notes
