"""The trtexec command of a recipe, per TensorRT major version, and `build_engine.sh`, which picks between them.

Flags follow `trtexec --help` of TensorRT 10.x: `--memPoolSize=workspace:<N>M`, `--timingCacheFile`,
`--useDLACore`/`--allowGPUFallback`, `--minShapes/--optShapes/--maxShapes` (NAME:BxCxHxW), `--staticPlugins`
(TensorRT 10 replaced `--plugins` by it); the precision flags come from `modes.build_mode` (`--fp16`, `--int8`,
`--stronglyTyped` on 10.x; none on 11.x, where they were removed and strong typing is always on).
`build_engine.sh` reads the TensorRT version on the device (EDGEATTN_TRT_VERSION, else the `tensorrt` Python
module, else trtexec's banner) and runs the matching command; `--dry-run` prints it (both, when no TensorRT is
found) and never needs anything on disk.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

from .._atomic import atomic_write_text
from ..errors import InvalidOptionError
from .modes import SUPPORTED, TrtVersion, build_mode
from .recipe import ENGINE_NAME, PLUGIN_ENV, RECIPE_NAME, ProfileShapes, TrtRecipe, profile_shapes

__all__ = ["trtexec_command", "write_build_script", "build_script", "SCRIPT_NAME"]

SCRIPT_NAME = "build_engine.sh"
#: the version each branch of build_engine.sh is generated for (the flags depend only on the major version)
_BRANCHES = {10: TrtVersion(10, 3), 11: TrtVersion(11, 0)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _shape_flag(shapes: dict[str, ProfileShapes], which: str) -> str:
    return ",".join(f"{n}:{'x'.join(str(d) for d in getattr(p, which))}" for n, p in shapes.items())


def trtexec_command(recipe: TrtRecipe, version: TrtVersion | str, onnx_name: str = "model.onnx",
                    engine_name: str = ENGINE_NAME) -> list[str]:
    """The trtexec argv that builds the engine of `recipe` with TensorRT `version` (run in the bundle folder)."""
    mode = build_mode(recipe, version)
    shapes = profile_shapes(recipe)
    cmd = ["trtexec", f"--onnx={onnx_name}", f"--saveEngine={engine_name}",
           f"--memPoolSize=workspace:{recipe.workspace_mib}M"]
    if recipe.timing_cache:
        cmd.append(f"--timingCacheFile={recipe.timing_cache}")
    cmd += mode.trtexec_flags
    if recipe.dynamic:
        cmd += [f"--minShapes={_shape_flag(shapes, 'min')}", f"--optShapes={_shape_flag(shapes, 'opt')}",
                f"--maxShapes={_shape_flag(shapes, 'max')}"]
    if recipe.dla_core is not None:
        cmd += [f"--useDLACore={recipe.dla_core}", "--allowGPUFallback"]
    cmd += [f"--staticPlugins={p}" for p in recipe.plugins]
    return cmd


def _branch(recipe: TrtRecipe, major: int) -> str:
    """The bash lines that set ARGS (and NOTE) for one major version, or print why it cannot build and exit 2."""
    try:
        mode = build_mode(recipe, _BRANCHES[major])
        argv = trtexec_command(recipe, _BRANCHES[major])
    except InvalidOptionError as exc:  # the branch stands for every minor version: say "11.x", not "11.0.0"
        return f"  REFUSED={shlex.quote(str(exc).replace(str(_BRANCHES[major]), f'{major}.x'))}\n"
    args = "\n".join(f"    {shlex.quote(a)}" for a in argv[1:])
    note = mode.note.replace(str(mode.version), f"{major}.x")
    return f"  NOTE={shlex.quote(note)}\n  ARGS=(\n{args}\n  )\n"


def _hash_check(hashes: dict[str, str]) -> str:
    """Bash that checks the files trtexec will read (model.onnx, plugin libraries) against their export-time
    SHA-256 before anything is parsed or dlopened; the manifest hashes this script, so the chain holds."""
    if not hashes:
        return ""
    lines = "\n".join(f"{sha}  {name}" for name, sha in sorted(hashes.items()))
    return f"""if [ "$DRY_RUN" -eq 0 ]; then
  if ! command -v sha256sum >/dev/null; then
    echo "build_engine.sh: sha256sum (coreutils) is needed to check the bundle's files" >&2
    exit 2
  fi
  if ! sha256sum --check --quiet --strict >/dev/null 2>&1 <<'HASHES'
{lines}
HASHES
  then
    echo "build_engine.sh: {', '.join(sorted(hashes))}: a file differs from its export-time SHA-256 (changed after" \\
         "export?); copy the bundle again (python -m edgeattn.verify names the file)" >&2
    exit 2
  fi
fi
"""


def _command_comments(recipe: TrtRecipe) -> str:
    lines = []
    for major, version in _BRANCHES.items():
        try:
            argv = trtexec_command(recipe, version)
            lines.append(f"#   TensorRT {major}.x: " + " ".join(shlex.quote(a) for a in argv))
        except InvalidOptionError:
            lines.append(f"#   TensorRT {major}.x: cannot build this bundle (./build_engine.sh --dry-run says why)")
    return "\n".join(lines) + "\n"


def build_script(recipe: TrtRecipe, hashes: dict[str, str] | None = None) -> str:
    """The text of build_engine.sh for `recipe`; `hashes` ({file: sha256}) are checked before trtexec runs."""
    lo, hi = SUPPORTED
    plugin_check = ""
    if recipe.custom_ops and not recipe.plugins:
        plugin_check = f"""if [ -z "${{{PLUGIN_ENV}:-}}" ] && [ "$DRY_RUN" -eq 0 ]; then
  echo "build_engine.sh: the graph has edgeattn custom ops ({', '.join(recipe.custom_ops)}); set" \\
       "{PLUGIN_ENV}=/path/libplugin.so (colon-separated) to the plugin library that implements them" >&2
  exit 2
fi
"""
    return f"""#!/usr/bin/env bash
# Build the TensorRT engine on the target device (engines are specific to the GPU and TensorRT version).
# Written by edgeattn from {RECIPE_NAME}; the flags depend on the TensorRT major version found on the device:
# 10.x builds weakly typed with builder flags where the graph needs them, 11.x strongly typed (it has none of
# the precision flags). `python -m edgeattn.tensorrt.build .` builds the same engine with the Python API,
# checks the bundle's hashes first and records the engine in manifest.json. The commands:
{_command_comments(recipe)}# Usage: ./build_engine.sh [--dry-run]
#   --dry-run prints the command for the installed TensorRT (with no TensorRT found, both commands)
# Environment: EDGEATTN_TRT_VERSION (e.g. 10.3; default: read from the tensorrt module or trtexec),
#              {PLUGIN_ENV} (extra plugin libraries, colon-separated)
set -euo pipefail
cd "$(dirname "$0")"
DRY_RUN=0
case "${{1:-}}" in
  "") ;;
  --dry-run) DRY_RUN=1 ;;
  *) echo "build_engine.sh: unknown argument '$1' (expected --dry-run)" >&2; exit 2 ;;
esac
TRTEXEC="$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)"

trt_version() {{
  if [ -n "${{EDGEATTN_TRT_VERSION:-}}" ]; then
    echo "$EDGEATTN_TRT_VERSION"
  elif python3 -c 'import tensorrt' >/dev/null 2>&1; then
    python3 -c 'import tensorrt; print(tensorrt.__version__)'
  elif [ -x "$TRTEXEC" ]; then
    "$TRTEXEC" --help 2>&1 | sed -n 's/.*TensorRT v\\([0-9][0-9]*\\).*/\\1/p' | head -n 1
  fi
}}

# sets ARGS and NOTE for TensorRT major version $1, or REFUSED with the reason
branch() {{
  ARGS=()
  NOTE=""
  REFUSED=""
  case "$1" in
  10)
{_branch(recipe, 10)}    ;;
  11)
{_branch(recipe, 11)}    ;;
  esac
}}

with_plugins() {{
  local lib
  IFS=':' read -r -a PLUGIN_LIBS <<< "${{{PLUGIN_ENV}:-}}"
  for lib in "${{PLUGIN_LIBS[@]+"${{PLUGIN_LIBS[@]}}"}}"; do
    if [ -n "$lib" ]; then ARGS+=("--staticPlugins=$lib"); fi
  done
}}

print_command() {{
  if [ -n "$REFUSED" ]; then
    echo "# TensorRT $1.x cannot build this bundle: $REFUSED"
  else
    echo "# $NOTE"
    printf '%q ' "$TRTEXEC" "${{ARGS[@]}}"
    echo
  fi
}}

VERSION="$(trt_version || true)"
if [ -z "$VERSION" ]; then
  if [ "$DRY_RUN" -eq 1 ]; then
    echo "# no TensorRT found here (set EDGEATTN_TRT_VERSION to choose); the command per version:"
    for major in 10 11; do branch "$major"; with_plugins; print_command "$major"; done
    exit 0
  fi
  echo "build_engine.sh: trtexec not found (PATH or /usr/src/tensorrt/bin): run this on the device with TensorRT," \\
       "e.g. in docker/jetson, or use 'python -m edgeattn.tensorrt.build .'" >&2
  exit 2
fi
if [[ "$VERSION" =~ ^[0-9]{{5,6}}$ ]]; then  # trtexec banner: major * 10000 + minor * 100 + patch
  MAJOR=$((VERSION / 10000)); MINOR=$((VERSION / 100 % 100))
elif [[ "$VERSION" =~ ^([0-9]+)\\.([0-9]+) ]]; then
  MAJOR="${{BASH_REMATCH[1]}}"; MINOR="${{BASH_REMATCH[2]}}"
else
  echo "build_engine.sh: cannot read a TensorRT version from '$VERSION' (EDGEATTN_TRT_VERSION=10.3 or 11.4)" >&2
  exit 2
fi
if [ "$MAJOR" -lt {lo[0]} ] || {{ [ "$MAJOR" -eq {lo[0]} ] && [ "$MINOR" -lt {lo[1]} ]; }} \
   || [ "$MAJOR" -ge {hi[0]} ]; then
  echo "build_engine.sh: TensorRT $MAJOR.$MINOR is not handled: edgeattn builds with TensorRT >= {lo[0]}.{lo[1]}" \\
       "and < {hi[0]} (JetPack 6.0 ships TensorRT 8.6: use JetPack >= 6.1)" >&2
  exit 2
fi
branch "$MAJOR"
if [ -n "$REFUSED" ]; then
  echo "build_engine.sh: $REFUSED" >&2
  exit 2
fi
{plugin_check}{_hash_check(hashes or {})}with_plugins
if [ "$DRY_RUN" -eq 1 ]; then
  print_command "$MAJOR"
  exit 0
fi
if [ ! -x "$TRTEXEC" ]; then
  echo "build_engine.sh: trtexec not found (PATH or /usr/src/tensorrt/bin): run this on the device with TensorRT," \\
       "e.g. in docker/jetson, or use 'python -m edgeattn.tensorrt.build .'" >&2
  exit 2
fi
echo "build_engine.sh: TensorRT $MAJOR.$MINOR: $NOTE" >&2
exec "$TRTEXEC" "${{ARGS[@]}}"
"""


def write_build_script(recipe: TrtRecipe, out_dir: Path) -> Path:
    """Write `build_engine.sh` (executable) into `out_dir`, atomically; model.onnx and the plugin libraries
    already in `out_dir` get their SHA-256 checked by the script before trtexec reads them."""
    out_dir = Path(out_dir)
    hashes = {name: _sha256(out_dir / name) for name in ("model.onnx", *recipe.plugins) if (out_dir / name).is_file()}
    path = atomic_write_text(out_dir / SCRIPT_NAME, build_script(recipe, hashes))
    path.chmod(0o755)
    return path
