"""TensorRT recipe: engines are device-specific, so they are built on the target.

Here edgeattn writes the TensorRT-ready ONNX (audited against the TensorRT parser's support table), the build
recipe as data (`trt_recipe.json`) and `build_engine.sh`, the exact `trtexec` command that builds the engine on
the device. `trt_build.py` builds the same engine with the TensorRT Python API from the same recipe, so both
routes agree on precision, shapes, workspace, timing cache, DLA core, calibration cache and plugins.

Flags follow `trtexec --help` of TensorRT 10.x: `--memPoolSize=workspace:<N>M`, `--timingCacheFile`,
`--fp16`/`--int8` with `--calib=<cache>`, `--useDLACore`/`--allowGPUFallback`, `--minShapes/--optShapes/
--maxShapes` (NAME:BxCxHxW), `--staticPlugins=<lib.so>` (TensorRT 10 replaced `--plugins` by it).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from .._atomic import atomic_write_text
from ..errors import InvalidOptionError

__all__ = ["TrtRecipe", "ProfileShapes", "TRT_PRECISIONS", "validate_recipe", "profile_shapes", "trtexec_command",
           "write_build_script", "write_recipe", "read_recipe", "recipe_for_export", "recipe_from_onnx", "RECIPE_NAME",
           "ENGINE_NAME", "CALIB_CACHE_NAME", "TIMING_CACHE_NAME", "PLUGIN_ENV"]

TRT_PRECISIONS = ("fp32", "fp16", "int8")
RECIPE_NAME = "trt_recipe.json"
ENGINE_NAME = "model.engine"
CALIB_CACHE_NAME = "calibration.cache"
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
    precision: str = "fp32"  # fp32 | fp16 | int8 (int8 also enables fp16 for layers INT8 cannot run)
    workspace_mib: int = 1024  # the builder's workspace memory pool limit
    timing_cache: str | None = TIMING_CACHE_NAME  # reused across builds on the same device; None: off
    dla_core: int | None = None  # Jetson DLA core (0/1 on Orin); layers DLA cannot run fall back to the GPU
    calib_cache: str = CALIB_CACHE_NAME  # INT8 calibration cache (written by trt_build, read by both routes)
    calib_batches: int = 8  # INT8 calibration batches of deterministic inputs (parity.make_inputs seeds 0..n-1)
    plugins: tuple[str, ...] = ()  # plugin libraries to load (custom ops)
    custom_ops: tuple[str, ...] = ()  # edgeattn-domain op types in the graph: they need a plugin at build time
    model: str = ""  # registered model name (the calibrator rebuilds inputs from its spec)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrtRecipe:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
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


def _max_size(recipe: TrtRecipe) -> tuple[int, int]:
    return recipe.max_size or (recipe.size[0] * 2, recipe.size[1] * 2)


def validate_recipe(recipe: TrtRecipe) -> TrtRecipe:
    """Check the options together; raise InvalidOptionError saying which flag to change."""
    if recipe.precision not in TRT_PRECISIONS:
        raise InvalidOptionError(f"TensorRT precision {recipe.precision!r} is not one of {', '.join(TRT_PRECISIONS)}")
    if len(recipe.input_names) != len(recipe.channels) or not recipe.input_names:
        raise InvalidOptionError("TensorRT recipe needs one channel count per input name")
    if recipe.batch < 1:
        raise InvalidOptionError(f"--batch must be >= 1, got {recipe.batch}")
    if recipe.workspace_mib < 1:
        raise InvalidOptionError(f"--workspace must be >= 1 MiB, got {recipe.workspace_mib}")
    if recipe.dla_core is not None:
        if recipe.dla_core < 0:
            raise InvalidOptionError(f"--dla-core must be >= 0 (Jetson Orin has cores 0 and 1), got {recipe.dla_core}")
        if recipe.precision == "fp32":
            raise InvalidOptionError("--dla-core needs --precision fp16 or int8: DLA has no FP32 mode")
        if recipe.dynamic:  # TensorRT docs, "DLA Supported Layers and Restrictions": no dynamic dimensions on DLA
            raise InvalidOptionError("--dla-core needs a static graph: DLA needs min = opt = max in the profile "
                                     "(drop --dynamic)")
    if recipe.calib_batches < 1:
        raise InvalidOptionError(f"--calib-batches must be >= 1, got {recipe.calib_batches}")
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
    bad = [p for p in recipe.plugins if not p or any(c in p for c in "\n\0")]
    if bad:
        raise InvalidOptionError(f"--trt-plugin {bad[0]!r} is not a usable library path")
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


def _shape_flag(shapes: dict[str, ProfileShapes], which: str) -> str:
    return ",".join(f"{n}:{'x'.join(str(d) for d in getattr(p, which))}" for n, p in shapes.items())


def trtexec_command(recipe: TrtRecipe, onnx_name: str = "model.onnx", engine_name: str = ENGINE_NAME) -> list[str]:
    """The trtexec argv that builds the engine of `recipe` (run in the export folder)."""
    shapes = profile_shapes(recipe)
    cmd = [
        "trtexec",
        f"--onnx={onnx_name}",
        f"--saveEngine={engine_name}",
        f"--memPoolSize=workspace:{recipe.workspace_mib}M",
    ]
    if recipe.timing_cache:
        cmd.append(f"--timingCacheFile={recipe.timing_cache}")
    if recipe.precision in ("fp16", "int8"):
        cmd.append("--fp16")  # int8: layers without an INT8 kernel run in fp16 rather than fp32
    if recipe.precision == "int8":
        cmd += ["--int8", f"--calib={recipe.calib_cache}"]
    if recipe.dynamic:
        cmd += [f"--minShapes={_shape_flag(shapes, 'min')}", f"--optShapes={_shape_flag(shapes, 'opt')}",
                f"--maxShapes={_shape_flag(shapes, 'max')}"]
    if recipe.dla_core is not None:
        cmd += [f"--useDLACore={recipe.dla_core}", "--allowGPUFallback"]
    cmd += [f"--staticPlugins={p}" for p in recipe.plugins]
    return cmd


def _script(recipe: TrtRecipe) -> str:
    argv = trtexec_command(recipe)
    checks = []
    if recipe.precision == "int8":
        checks.append(f"""if [ ! -s {shlex.quote(recipe.calib_cache)} ]; then
  echo "build_engine.sh: {recipe.calib_cache} is missing: INT8 needs calibration; run" \\
       "'python -m edgeattn.export.trt_build .' on the device (it calibrates on edgeattn's inputs)" >&2
  exit 2
fi
""")
    if recipe.custom_ops and not recipe.plugins:
        checks.append(f"""if [ -z "${{{PLUGIN_ENV}:-}}" ]; then
  echo "build_engine.sh: the graph has edgeattn custom ops ({', '.join(recipe.custom_ops)}); set" \\
       "{PLUGIN_ENV}=/path/libplugin.so (colon-separated) to the plugin library that implements them" >&2
  exit 2
fi
""")
    args = " \\\n  ".join(shlex.quote(a) for a in argv[1:])
    return f"""#!/usr/bin/env bash
# Build the TensorRT engine on the target device (engines are specific to the GPU and TensorRT version).
# Needs trtexec (JetPack: /usr/src/tensorrt/bin/trtexec). Usage: ./build_engine.sh [--dry-run]
# Written by edgeattn from {RECIPE_NAME}; `python -m edgeattn.export.trt_build .` builds the same engine with the
# TensorRT Python API and adds edgeattn's metadata header. The command:
#   {" ".join(shlex.quote(a) for a in argv)}
set -euo pipefail
cd "$(dirname "$0")"
{"".join(checks)}ARGS=(
  {args}
)
# Extra plugin libraries (custom ops), colon-separated, from the environment.
IFS=':' read -r -a PLUGIN_LIBS <<< "${{{PLUGIN_ENV}:-}}"
for lib in "${{PLUGIN_LIBS[@]+"${{PLUGIN_LIBS[@]}}"}}"; do
  if [ -n "$lib" ]; then ARGS+=("--staticPlugins=$lib"); fi
done
TRTEXEC="$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)"
if [ "${{1:-}}" = "--dry-run" ]; then
  printf '%q ' "$TRTEXEC" "${{ARGS[@]}}"
  echo
  exit 0
fi
if [ ! -x "$TRTEXEC" ]; then
  echo "build_engine.sh: trtexec not found (PATH or /usr/src/tensorrt/bin): run this on the device with TensorRT," \\
       "e.g. in docker/jetson, or use 'python -m edgeattn.export.trt_build .'" >&2
  exit 2
fi
exec "$TRTEXEC" "${{ARGS[@]}}"
"""


def write_build_script(recipe: TrtRecipe, out_dir: Path) -> Path:
    """Write `build_engine.sh` (executable) into `out_dir`, atomically."""
    path = atomic_write_text(Path(out_dir) / "build_engine.sh", _script(recipe))
    path.chmod(0o755)
    return path


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
    "calib_cache": (lambda v: isinstance(v, str), "a file name"),
    "calib_batches": (_int, "an integer"),
    "plugins": (_strs, "a list of paths"),
    "custom_ops": (_strs, "a list of strings"),
    "model": (lambda v: isinstance(v, str), "a string"),
}


def read_recipe(folder: Path) -> TrtRecipe:
    path = Path(folder) / RECIPE_NAME
    if not path.is_file():
        raise InvalidOptionError(f"{path} does not exist: export with --target trt first")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidOptionError(f"{path} is not readable JSON ({exc}); export again with --target trt") from None
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path} is not a JSON object; export again with --target trt")
    unknown_keys = sorted(set(data) - {f.name for f in fields(TrtRecipe)})
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
                      calib_batches: int = 8, plugins: tuple[str, ...] = (),
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
        dla_core=dla_core, calib_batches=calib_batches, plugins=plugins, custom_ops=custom_ops, model=model))


def recipe_from_onnx(onnx_path: Path, precision: str = "fp32") -> TrtRecipe:
    """A static recipe read off an ONNX file's input shapes (N, C, H, W), for runners handed a bare model.onnx
    (the parity and bench harnesses export their own graphs). Dynamic graphs need a profile: use the export's
    trt_recipe.json instead."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    names, channels, shapes = [], [], []
    for v in model.graph.input:
        if v.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in v.type.tensor_type.shape.dim]
        if len(dims) != 4 or min(dims) <= 0:
            raise InvalidOptionError(
                f"{onnx_path}: input {v.name} has shape {dims or '?'}; an engine built on the fly needs static NCHW "
                "inputs (for a dynamic export, build model.engine with python -m edgeattn.export.trt_build)")
        names.append(v.name)
        channels.append(dims[1])
        shapes.append((dims[0], dims[2], dims[3]))
    if not names or len(set(shapes)) != 1:
        raise InvalidOptionError(f"{onnx_path}: inputs {names} must share batch, height and width")
    meta = {p.key: p.value for p in model.metadata_props}
    batch, h, w = shapes[0]
    return validate_recipe(TrtRecipe(input_names=tuple(names), channels=tuple(channels), batch=batch, size=(h, w),
                                     precision=precision, timing_cache=None, model=meta.get("edgeattn.model", "")))
