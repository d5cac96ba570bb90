"""TensorRT: engines are device-specific, so they are built on the target.

Here edgeattn writes the TensorRT-ready ONNX (audited against the TensorRT parser's support table) and
`build_engine.sh`, the exact `trtexec` command that builds the engine on the device.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write_text

__all__ = ["TrtRecipe", "trtexec_command", "write_build_script"]


@dataclass(frozen=True)
class TrtRecipe:
    input_names: tuple[str, ...]
    channels: tuple[int, ...]
    batch: int
    size: tuple[int, int]  # optimisation size (H, W)
    dynamic: bool = False
    min_size: tuple[int, int] = (32, 32)
    max_size: tuple[int, int] | None = None
    precision: str = "fp32"
    workspace_mib: int = 1024


def _shape(recipe: TrtRecipe, batch: int, size: tuple[int, int]) -> str:
    return ",".join(f"{n}:{batch}x{c}x{size[0]}x{size[1]}" for n, c in zip(recipe.input_names, recipe.channels))


def trtexec_command(recipe: TrtRecipe, onnx_name: str = "model.onnx", engine_name: str = "model.engine") -> list[str]:
    cmd = [
        "trtexec",
        f"--onnx={onnx_name}",
        f"--saveEngine={engine_name}",
        f"--memPoolSize=workspace:{recipe.workspace_mib}M",
        "--timingCacheFile=timing.cache",
    ]
    if recipe.precision == "fp16":
        cmd.append("--fp16")
    if recipe.dynamic:
        max_size = recipe.max_size or (recipe.size[0] * 2, recipe.size[1] * 2)
        cmd += [
            f"--minShapes={_shape(recipe, 1, recipe.min_size)}",
            f"--optShapes={_shape(recipe, recipe.batch, recipe.size)}",
            f"--maxShapes={_shape(recipe, recipe.batch, max_size)}",
        ]
    return cmd


def write_build_script(recipe: TrtRecipe, out_dir: Path) -> Path:
    cmd = " ".join(shlex.quote(c) for c in trtexec_command(recipe))
    text = f"""#!/usr/bin/env bash
# Build the TensorRT engine on the target device (engines are specific to the GPU and TensorRT version).
# Needs trtexec on PATH (JetPack: /usr/src/tensorrt/bin/trtexec).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/src/tensorrt/bin"
{cmd}
"""
    path = atomic_write_text(Path(out_dir) / "build_engine.sh", text)
    path.chmod(0o755)
    return path
