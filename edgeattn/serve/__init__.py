"""Serving a bundle: Triton / OpenVINO Model Server repositories, and the KServe v2 round trip that checks them.

`python -m edgeattn.serve export BUNDLE --server triton|ovms --output REPO` and
`python -m edgeattn.serve check URL BUNDLE`. Depends on edgeattn.bundle and edgeattn.verify only: numpy, onnx
(to read the graph's output dims) and, for the schema check and the client, tritonclient (`edgeattn[serve]`).
Never imports torch.
"""

from .check import CheckOptions, check_server
from .options import RepositoryOptions
from .pbtxt import check_config, config_text, parse_config
from .repository import export_repository
from .triton_backends import triton_backend_names

__all__ = ["CheckOptions", "RepositoryOptions", "check_config", "check_server", "config_text", "export_repository",
           "parse_config", "triton_backend_names"]
