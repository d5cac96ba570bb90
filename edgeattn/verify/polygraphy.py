"""The `polygraphy run` commands that check a bundle's model.onnx with a tool nobody here wrote.

Each case gets its own absolute bar, the one verify applies to ORT: max(max_abs, floor_factor x the case's stored
fp32 floor); `--rtol 0` keeps the check absolute.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

from ..bundle import output_names, read_manifest
from ..bundle.tolerances import Tolerance
from ..errors import IntegrityError

__all__ = ["polygraphy_commands"]


def _up3(x: float) -> str:
    """x rounded UP to 3 significant digits (never a tighter bar than verify's)."""
    if x <= 0:
        return "0"
    step = 10.0 ** (math.floor(math.log10(x)) - 2)
    return f"{math.ceil(x / step - 1e-9) * step:.3g}"


def polygraphy_commands(folder: str | Path, key: str = "fp32/ort") -> list[str]:
    """One shell command per reference case, to run inside the bundle folder."""
    manifest = read_manifest(Path(folder))
    if key not in manifest["tolerances"]:
        raise IntegrityError(f"bundle {str(folder)!r} stores no tolerance for {key}")
    tol = Tolerance.from_dict(manifest["tolerances"][key])
    outs = output_names(manifest)
    cmds = []
    for case in manifest["reference"]["cases"]:
        floors = [f["max_abs"] for o in outs if isinstance(f := (case.get("floor") or {}).get(o), dict)]
        atol = tol.effective(max(floors), 0.0)[0] if floors else tol.max_abs
        cmds.append(shlex.join(["polygraphy", "run", "model.onnx", "--onnxrt", "--load-inputs",
                                case["polygraphy_inputs"], "--load-outputs", case["polygraphy_outputs"],
                                "--atol", _up3(atol), "--rtol", "0"]))
    return cmds
