"""Everything TensorRT: the parser's support tables and the audit (`operators`, `audit`), the build recipe
(`recipe`), how each TensorRT version builds it (`modes`: 10.x weakly typed with flags, 11.x strongly typed), the
trtexec command and build_engine.sh (`commands`), the Python API build (`build`), the engine file header
(`engine_file`), CUDA buffers without PyTorch (`cuda`), the engine check and the device bench (`check`, `bench`).

Importing this package imports neither TensorRT nor CUDA nor torch; the runner is `edgeattn.runtimes.tensorrt`.
"""

from .modes import BuildMode, TrtVersion, build_mode, parse_version
from .recipe import ENGINE_NAME, RECIPE_NAME, TrtRecipe, read_recipe

__all__ = ["BuildMode", "TrtVersion", "build_mode", "parse_version", "ENGINE_NAME", "RECIPE_NAME", "TrtRecipe",
           "read_recipe"]
