"""Which TensorRT builds a recipe, and how: weakly typed with builder flags (10.x) or strongly typed (11.x).

TensorRT 10.x builds networks weakly typed by default: builder flags (FP16, INT8) let it pick lower-precision
kernels per layer; weak typing is deprecated since 10.12, and INT8 calibrators since 10.1. TensorRT 11.x removed
weak typing altogether (BuilderFlag.FP16/INT8, `int8_calibrator`, trtexec `--fp16/--int8/--calib/--best`): every
network is strongly typed, so the precision must already be in the ONNX (a float16 graph, or Q/DQ nodes for INT8),
and the STRONGLY_TYPED creation flag / trtexec `--stronglyTyped` are accepted but have no effect there (TensorRT
"Migrating from TensorRT 10.x to 11.x" guide, Python API and trtexec pages).

| graph in model.onnx | precision | TensorRT 10.3 .. 10.x                              | TensorRT 11.x         |
|---------------------|-----------|----------------------------------------------------|-----------------------|
| fp32                | fp32      | weakly typed, no flags                             | strongly typed        |
| fp32                | fp16      | weakly typed + FP16 flag (deprecated since 10.12)  | refused: no FP16 flag |
| fp16 (f32 islands)  | fp16      | strongly typed (keeps the float32 islands)         | strongly typed        |
| qdq                 | int8      | weakly typed + INT8 flag, no calibrator (note 1)   | strongly typed        |

Note 1: no FP16 flag either, so the layers outside Q/DQ pairs (the float islands) stay fp32, as verified on ORT.

fp32 graph + int8 (on-device calibration) is refused by the recipe itself (`recipe.validate_recipe`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidOptionError
from .recipe import TrtRecipe, validate_recipe

__all__ = ["TrtVersion", "BuildMode", "SUPPORTED", "parse_version", "build_mode"]

#: the TensorRT versions edgeattn handles: 10.3 (JetPack 6.1) up to, not including, 12
SUPPORTED = ((10, 3), (12, 0))


@dataclass(frozen=True, order=True)
class TrtVersion:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str) -> TrtVersion:
    """'10.3.0.30' / '11.4' / '100300' (the trtexec banner's number) -> TrtVersion; checked against SUPPORTED."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.\d+)*(?:[.+-].*)?", text)
    if m:
        version = TrtVersion(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    elif re.fullmatch(r"\d{5,6}", text):  # NV_TENSORRT_VERSION: major * 10000 + minor * 100 + patch
        n = int(text)
        version = TrtVersion(n // 10000, n // 100 % 100, n % 100)
    else:
        raise InvalidOptionError(f"cannot read a TensorRT version from {text!r} (expected e.g. 10.3.0 or 11.4)")
    lo, hi = SUPPORTED
    if not lo <= (version.major, version.minor) < hi:
        raise InvalidOptionError(
            f"TensorRT {version} is not handled: edgeattn builds with TensorRT >= {lo[0]}.{lo[1]} and < {hi[0]} "
            "(JetPack 6.0 ships TensorRT 8.6: use JetPack >= 6.1)")
    return version


@dataclass(frozen=True)
class BuildMode:
    """How one recipe is built by one TensorRT version."""

    version: TrtVersion
    strongly_typed: bool
    builder_flags: tuple[str, ...]  # BuilderFlag names set on the config (10.x only)
    trtexec_flags: tuple[str, ...]  # the matching trtexec options
    note: str  # one line for the build log: what decides the precision

    @property
    def typing(self) -> str:
        return "strongly typed" if self.strongly_typed else "weakly typed"


def build_mode(recipe: TrtRecipe, version: TrtVersion | str) -> BuildMode:
    """The build settings of `recipe` on TensorRT `version`; InvalidOptionError where that TensorRT cannot build it."""
    validate_recipe(recipe)
    v = version if isinstance(version, TrtVersion) else parse_version(version)
    graph, precision = recipe.graph, recipe.precision
    if v.major >= 11:
        if graph == "fp32" and precision == "fp16":
            raise InvalidOptionError(
                f"TensorRT {v} has no FP16 builder flag (weak typing was removed in 11.0) and this model.onnx is "
                "float32: export the bundle again with an edgeattn that writes the float16 graph for --precision "
                "fp16, or build on TensorRT 10.x")
        what = {"fp32": "float32 graph", "fp16": "float16 graph with float32 islands", "qdq": "Q/DQ INT8 graph"}
        return BuildMode(v, True, (), (), f"TensorRT {v}: strongly typed; the {what[graph]} decides every precision")
    # 10.x
    if graph == "fp16":
        return BuildMode(v, True, (), ("--stronglyTyped",),
                         f"TensorRT {v}: strongly typed, so the float32 islands of the float16 graph stay float32")
    if graph == "qdq":
        return BuildMode(v, False, ("INT8",), ("--int8",),
                         f"TensorRT {v}: weakly typed with the INT8 flag for the Q/DQ graph (no calibration); "
                         "layers outside Q/DQ pairs run fp32 (FP16 flag not set)")
    if precision == "fp16":
        return BuildMode(v, False, ("FP16",), ("--fp16",),
                         f"TensorRT {v}: weakly typed with the FP16 flag (deprecated since TensorRT 10.12; "
                         "TensorRT 11 needs the float16 graph)")
    return BuildMode(v, False, (), (), f"TensorRT {v}: weakly typed, fp32")
