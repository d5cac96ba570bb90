"""Where things are in a bundle (docs/bundle-format.md): file names, reference case names and paths.

Pure Python: producers and consumers (export, verify, serve, the device scripts) share these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import IntegrityError

__all__ = ["FORMAT", "MANIFEST", "DEVICE_RECORDS", "DEVICE_FORMAT", "SIGNATURE", "UNSIGNED",
           "REFERENCE_DIR", "MODEL_ONNX", "MODEL_XML", "MODEL_BIN", "MODEL_ENGINE",
           "TRT_RECIPE", "BUILD_SCRIPT", "INPUTS_NPZ", "OUTPUTS_NPZ", "POLYGRAPHY_INPUTS", "POLYGRAPHY_OUTPUTS",
           "CasePaths", "case_name", "parse_case_name", "case_paths"]

FORMAT = "edgeattn-bundle/1"
MANIFEST = "manifest.json"
#: records a device adds after export (engine, timing cache): outside the signed set, see docs/trust.md
DEVICE_RECORDS = "device_files.json"
DEVICE_FORMAT = "edgeattn-device-files/1"
#: the OpenSSF model-signing signature of every other file (export --sign-key)
SIGNATURE = "bundle.sig"
#: the bundle's own files that no signature covers: the signature itself and the device records
UNSIGNED = (SIGNATURE, DEVICE_RECORDS)
REFERENCE_DIR = "reference"
MODEL_ONNX = "model.onnx"
MODEL_XML = "model.xml"
MODEL_BIN = "model.bin"
MODEL_ENGINE = "model.engine"
TRT_RECIPE = "trt_recipe.json"
BUILD_SCRIPT = "build_engine.sh"
INPUTS_NPZ = "inputs.npz"
OUTPUTS_NPZ = "outputs.npz"
POLYGRAPHY_INPUTS = "polygraphy_inputs.json"
POLYGRAPHY_OUTPUTS = "polygraphy_outputs.json"

_CASE = re.compile(r"(?:(\d+)x)?(\d+)x(\d+)")


def case_name(batch: int, height: int, width: int) -> str:
    """`HxW` for batch 1 (`512x1024`), `BxHxW` otherwise (`2x200x328`)."""
    return f"{height}x{width}" if batch == 1 else f"{batch}x{height}x{width}"


def parse_case_name(name: str) -> tuple[int, int, int]:
    """The inverse of `case_name`: (batch, height, width)."""
    m = _CASE.fullmatch(name)
    if not m:
        raise IntegrityError(f"reference case {name!r} is not named HxW or BxHxW (docs/bundle-format.md)")
    return int(m.group(1) or 1), int(m.group(2)), int(m.group(3))


@dataclass(frozen=True)
class CasePaths:
    """Bundle-relative posix paths of one reference case's four files."""

    inputs: str
    outputs: str
    polygraphy_inputs: str
    polygraphy_outputs: str


def case_paths(name: str) -> CasePaths:
    base = f"{REFERENCE_DIR}/{name}"
    return CasePaths(f"{base}/{INPUTS_NPZ}", f"{base}/{OUTPUTS_NPZ}", f"{base}/{POLYGRAPHY_INPUTS}",
                     f"{base}/{POLYGRAPHY_OUTPUTS}")
