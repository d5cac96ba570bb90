"""Everything TensorRT: the parser's support tables and the audit (`operators`, `audit`), the build recipe
(`recipe`), how each TensorRT version builds it (`modes`: 10.x weakly typed with flags, 11.x strongly typed), the
trtexec command and build_engine.sh (`commands`), the Python API build (`build`), the engine file header
(`engine_file`), CUDA buffers without PyTorch (`cuda`), the engine check and the device bench (`check`, `bench`).

Importing this package imports neither TensorRT nor CUDA nor torch; the runner is `edgeattn.runtimes.tensorrt`.

Two halves, split by module (the file paths stay: `python -m edgeattn.tensorrt.build|check|bench` are the
documented device commands):
- host (export time, may import onnx): `operators` (10.3's parser table), `tables` (the tables per TensorRT
  version: 10.3, 10.16, 11.4), `qdq`, `audit`, `commands` (build_engine.sh),
  `onnx_recipe` (a recipe read off an ONNX file);
- device (on the Jetson, numpy + TensorRT, no torch, no onnx): `recipe` (read and validate), `modes`, `build`,
  `check`, `bench`, `cuda`, `engine_file`. They import only each other and the device side (verify, runtimes,
  bundle); tests/test_imports.py imports them with torch and onnx unimportable and fails on any host module.
"""

from .modes import BuildMode, TrtVersion, build_mode, parse_version
from .recipe import ENGINE_NAME, RECIPE_NAME, TrtRecipe, read_recipe

__all__ = ["BuildMode", "TrtVersion", "build_mode", "parse_version", "ENGINE_NAME", "RECIPE_NAME", "TrtRecipe",
           "read_recipe"]
