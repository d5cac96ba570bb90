"""TensorRT recipe: engines are device-specific, so they are built on the target.

Here edgeattn writes the TensorRT-ready ONNX (audited against the TensorRT parser's support table) and the build
recipe as data (`trt_recipe.json`): precision, the kind of graph model.onnx holds (`graph`: fp32, fp16 = float16
with float32 islands, qdq = explicit INT8 Q/DQ), optimisation profile, workspace, timing cache, DLA core, plugins.
How a recipe becomes builder settings depends on the TensorRT version found on the device (`modes.py`); the
trtexec command and `build_engine.sh` are in `commands.py`, the Python API build in `build.py`.

Device side: this module reads and validates recipes with the standard library only (the device commands
build, check and bench use it). What reads an ONNX file to make a recipe needs `onnx`, so it is host side,
in `onnx_recipe.py`.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from .._atomic import atomic_write_text
from .._bounded import read_bounded
from ..bundle.schema import MAX_JSON_BYTES
from ..errors import InvalidOptionError

__all__ = ["TrtRecipe", "ProfileShapes", "TRT_PRECISIONS", "GRAPH_KINDS", "validate_recipe", "profile_shapes",
           "format_profile", "write_recipe", "read_recipe", "recipe_for_export",
           "RECIPE_NAME", "ENGINE_NAME", "TIMING_CACHE_NAME", "PLUGIN_ENV"]

TRT_PRECISIONS = ("fp32", "fp16", "int8")
#: what model.onnx holds: fp32; fp16 (float16 tensors, float32 islands); qdq (QuantizeLinear/DequantizeLinear)
GRAPH_KINDS = ("fp32", "fp16", "qdq")
#: the graph each precision needs (fp16 may also be an fp32 graph built with TensorRT 10.x's FP16 flag)
_GRAPHS_FOR = {"fp32": ("fp32",), "fp16": ("fp16", "fp32"), "int8": ("qdq",)}
RECIPE_NAME = "trt_recipe.json"
ENGINE_NAME = "model.engine"
TIMING_CACHE_NAME = "timing.cache"
#: env var of build_engine.sh: colon-separated plugin libraries for graphs with edgeattn-domain nodes
PLUGIN_ENV = "EDGEATTN_TRT_PLUGINS"


@dataclass(frozen=True)
class TrtRecipe:
    """Everything needed to build one engine from model.onnx, by either trtexec or the Python API."""

    input_names: tuple[str, ...]
    channels: tuple[int, ...]
    batch: int
    size: tuple[int, int]  # optimisation size (H, W): the export size
    dynamic: bool = False
    min_size: tuple[int, int] = (32, 32)  # profile minimum (H, W), used with dynamic
    max_size: tuple[int, int] | None = None  # profile maximum (H, W); None: twice the export size
    max_batch: int | None = None  # profile maximum batch; None: the export batch
    precision: str = "fp32"  # fp32 | fp16 | int8: the manifest's precision
    graph: str = "fp32"  # fp32 | fp16 | qdq: what model.onnx holds (GRAPH_KINDS)
    workspace_mib: int = 1024  # the builder's workspace memory pool limit
    timing_cache: str | None = TIMING_CACHE_NAME  # reused across builds on the same device; None: off
    dla_core: int | None = None  # Jetson DLA core (0/1 on Orin); layers DLA cannot run fall back to the GPU
    plugins: tuple[str, ...] = ()  # plugin libraries shipped in the bundle (paths relative to it, hashed there)
    custom_ops: tuple[str, ...] = ()  # edgeattn-domain op types in the graph: they need a plugin at build time
    model: str = ""  # registered model name (messages and the engine header)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrtRecipe:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if {"calib_cache", "calib_batches"} & set(unknown):
            raise InvalidOptionError(f"{RECIPE_NAME} asks for INT8 calibration, which this edgeattn no longer does "
                                     "(INT8 is a Q/DQ graph): export the bundle again")
        if unknown:
            raise InvalidOptionError(f"{RECIPE_NAME} has unknown keys {unknown}: was it written by a newer edgeattn?")
        kw = dict(data)
        for key in ("input_names", "channels", "plugins", "custom_ops", "size", "min_size", "max_size"):
            if kw.get(key) is not None:
                kw[key] = tuple(kw[key])
        return cls(**kw)


@dataclass(frozen=True)
class ProfileShapes:
    """One input's optimisation profile: min <= opt <= max per dimension, each (N, C, H, W)."""

    min: tuple[int, int, int, int]
    opt: tuple[int, int, int, int]
    max: tuple[int, int, int, int]

    def __str__(self) -> str:
        dims = ["x".join(str(d) for d in s) for s in (self.min, self.opt, self.max)]
        return dims[0] if len(set(dims)) == 1 else f"min {dims[0]}, opt {dims[1]}, max {dims[2]}"


def format_profile(shapes: dict[str, ProfileShapes]) -> str:
    """'image 1x3x64x64' (static) or 'image min 1x3x32x32, opt ..., max ...' per input, for messages."""
    return "; ".join(f"{name} {p}" for name, p in shapes.items())


def _max_size(recipe: TrtRecipe) -> tuple[int, int]:
    return recipe.max_size or (recipe.size[0] * 2, recipe.size[1] * 2)


def validate_recipe(recipe: TrtRecipe) -> TrtRecipe:
    """Check the options together; raise InvalidOptionError saying which flag to change."""
    if recipe.precision not in TRT_PRECISIONS:
        raise InvalidOptionError(f"TensorRT precision {recipe.precision!r} is not one of {', '.join(TRT_PRECISIONS)}")
    if recipe.graph not in GRAPH_KINDS:
        raise InvalidOptionError(f"{RECIPE_NAME}: graph {recipe.graph!r} is not one of {', '.join(GRAPH_KINDS)}")
    if recipe.graph not in _GRAPHS_FOR[recipe.precision]:
        if recipe.precision == "int8":
            raise InvalidOptionError(
                "TensorRT INT8 needs an explicitly quantized model.onnx (QuantizeLinear/DequantizeLinear nodes, "
                "written by --precision int8); this one has none. Calibrating an fp32 graph on the device was "
                "dropped: TensorRT 11 removed calibrators, and a Q/DQ graph is checked on ONNX Runtime before it ships")
        raise InvalidOptionError(f"model.onnx is a {recipe.graph} graph but the bundle's precision is "
                                 f"{recipe.precision}: export the bundle again")
    if len(recipe.input_names) != len(recipe.channels) or not recipe.input_names:
        raise InvalidOptionError("TensorRT recipe needs one channel count per input name")
    if recipe.batch < 1:
        raise InvalidOptionError(f"--batch must be >= 1, got {recipe.batch}")
    if not 1 <= recipe.workspace_mib <= 1 << 18:
        raise InvalidOptionError(f"--workspace must be in 1..{1 << 18} MiB (256 GiB), got {recipe.workspace_mib}")
    if recipe.max_batch is not None and recipe.max_batch > 4096:
        raise InvalidOptionError(f"--max-batch must be at most 4096, got {recipe.max_batch}")
    if recipe.dla_core is not None:
        if recipe.dla_core > 7:
            raise InvalidOptionError(f"--dla-core must be 0..7 (Jetson Orin has cores 0 and 1), got {recipe.dla_core}")
        if recipe.dla_core < 0:
            raise InvalidOptionError(f"--dla-core must be >= 0 (Jetson Orin has cores 0 and 1), got {recipe.dla_core}")
        if recipe.precision == "fp32":
            raise InvalidOptionError("--dla-core needs --precision fp16 or int8: DLA has no FP32 mode")
        if recipe.dynamic:  # TensorRT docs, "DLA Supported Layers and Restrictions": no dynamic dimensions on DLA
            raise InvalidOptionError("--dla-core needs a static graph: DLA needs min = opt = max in the profile "
                                     "(drop --dynamic)")
    if recipe.max_batch is not None and recipe.max_batch < recipe.batch:
        raise InvalidOptionError(f"--max-batch {recipe.max_batch} is below --batch {recipe.batch}")
    if not recipe.dynamic and (recipe.max_size is not None or recipe.max_batch is not None):
        raise InvalidOptionError("--max-size/--max-batch need --dynamic (a static graph has one shape)")
    if recipe.dynamic:
        lo, opt, hi = recipe.min_size, recipe.size, _max_size(recipe)
        for axis, name in enumerate(("height", "width")):
            if not lo[axis] <= opt[axis] <= hi[axis]:
                raise InvalidOptionError(
                    f"profile {name}s must satisfy min <= opt <= max, got {lo[axis]} <= {opt[axis]} <= {hi[axis]}; "
                    f"fix --min-size {lo[0]}x{lo[1]}, --input-size {opt[0]}x{opt[1]} or --max-size {hi[0]}x{hi[1]}")
    bad = [p for p in recipe.plugins
           if not p or any(c in p for c in "\n\0") or p.startswith("/") or ".." in p.split("/")]
    if bad:
        raise InvalidOptionError(f"{RECIPE_NAME}: plugin {bad[0]!r} is not a path inside the bundle (plugins ship in "
                                 "the bundle and are hashed in its manifest)")
    return recipe


def profile_shapes(recipe: TrtRecipe) -> dict[str, ProfileShapes]:
    """Optimisation profile per input. Static: min = opt = max = the export shape. Dynamic: batch 1 at
    `min_size`, the export batch at the export size, `max_batch` at `max_size` (default twice the export size)."""
    validate_recipe(recipe)
    out: dict[str, ProfileShapes] = {}
    for name, c in zip(recipe.input_names, recipe.channels):
        opt = (recipe.batch, c, *recipe.size)
        if recipe.dynamic:
            hi = _max_size(recipe)
            out[name] = ProfileShapes((1, c, *recipe.min_size), opt, (recipe.max_batch or recipe.batch, c, *hi))
        else:
            out[name] = ProfileShapes(opt, opt, opt)
    return out


def write_recipe(recipe: TrtRecipe, out_dir: Path) -> Path:
    validate_recipe(recipe)
    return atomic_write_text(Path(out_dir) / RECIPE_NAME, json.dumps(recipe.to_dict(), indent=2, sort_keys=True) + "\n")


def _int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _hw(v: object) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_int(x) for x in v)


def _strs(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


# JSON type of each recipe field: (check, what to say)
_RECIPE_TYPES = {
    "input_names": (_strs, "a list of strings"),
    "channels": (lambda v: isinstance(v, list) and all(_int(x) for x in v), "a list of integers"),
    "batch": (_int, "an integer"),
    "size": (_hw, "[height, width] integers"),
    "dynamic": (lambda v: isinstance(v, bool), "true or false"),
    "min_size": (_hw, "[height, width] integers"),
    "max_size": (lambda v: v is None or _hw(v), "null or [height, width] integers"),
    "max_batch": (lambda v: v is None or _int(v), "null or an integer"),
    "precision": (lambda v: isinstance(v, str), "a string"),
    "workspace_mib": (_int, "an integer"),
    "timing_cache": (lambda v: v is None or isinstance(v, str), "null or a file name"),
    "dla_core": (lambda v: v is None or _int(v), "null or an integer"),
    "graph": (lambda v: isinstance(v, str), "a string"),
    "plugins": (_strs, "a list of paths"),
    "custom_ops": (_strs, "a list of strings"),
    "model": (lambda v: isinstance(v, str), "a string"),
}


def read_recipe(folder: Path) -> TrtRecipe:
    path = Path(folder) / RECIPE_NAME
    if not path.is_file():
        raise InvalidOptionError(f"{path} does not exist: export with --target trt first")
    try:
        data = json.loads(read_bounded(path, MAX_JSON_BYTES).decode("utf-8"))  # FileTooLarge is a ValueError
    except (OSError, ValueError) as exc:
        raise InvalidOptionError(f"{path} is not readable JSON ({exc}); export again with --target trt") from None
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path} is not a JSON object; export again with --target trt")
    unknown_keys = sorted(set(data) - {f.name for f in fields(TrtRecipe)})
    if {"calib_cache", "calib_batches"} & set(unknown_keys):
        raise InvalidOptionError(f"{path} asks for INT8 calibration, which this edgeattn no longer does (INT8 is a "
                                 "Q/DQ graph): export the bundle again")
    if unknown_keys:
        raise InvalidOptionError(f"{RECIPE_NAME} has unknown keys {unknown_keys}: was it written by a newer edgeattn?")
    required = [f.name for f in fields(TrtRecipe) if f.default is MISSING and f.default_factory is MISSING]
    missing = [k for k in required if k not in data]
    if missing:
        raise InvalidOptionError(f"{path} lacks {', '.join(missing)}; export again with --target trt")
    wrong = [f"{k} must be {what}" for k, (ok, what) in _RECIPE_TYPES.items() if k in data and not ok(data[k])]
    if wrong:
        raise InvalidOptionError(f"{path}: {'; '.join(wrong)}; export again with --target trt")
    try:
        return validate_recipe(TrtRecipe.from_dict(data))
    except (TypeError, ValueError, IndexError) as exc:  # wrong JSON types for a field (a string for a size, ...)
        raise InvalidOptionError(f"{path} has a value of the wrong type ({exc}); export again with --target trt"
                                 ) from None


def recipe_for_export(*, model: str, input_names: tuple[str, ...], channels: tuple[int, ...], batch: int,
                      size: tuple[int, int], dynamic: bool, precision: str, model_min_size: int,
                      min_size: tuple[int, int] | None = None, max_size: tuple[int, int] | None = None,
                      max_batch: int | None = None, workspace_mib: int = 1024, dla_core: int | None = None,
                      graph: str = "fp32", plugins: tuple[str, ...] = (),
                      custom_ops: tuple[str, ...] = ()) -> TrtRecipe:
    """The recipe of an export: profile minimum defaults to the model's smallest input, checked together."""
    if min_size is not None and not dynamic:
        raise InvalidOptionError("--min-size needs --dynamic (a static graph has one shape)")
    lo = min_size or (model_min_size, model_min_size)
    if min(lo) < model_min_size:
        raise InvalidOptionError(f"--min-size {lo[0]}x{lo[1]} is below the model's minimum input "
                                 f"{model_min_size}x{model_min_size}")
    return validate_recipe(TrtRecipe(
        input_names=input_names, channels=channels, batch=batch, size=size, dynamic=dynamic, min_size=lo,
        max_size=max_size, max_batch=max_batch, precision=precision, workspace_mib=workspace_mib,
        dla_core=dla_core, graph=graph, plugins=plugins, custom_ops=custom_ops, model=model))
