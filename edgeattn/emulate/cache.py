"""Where emulate keeps what it builds once: the arm64 userland, the profiles' aarch64 packages, edgeattn's wheel.

Outside the checkout on purpose (hundreds of MB, and a checkout must not hold another architecture's files).
The one environment variable emulate reads is read here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

#: overrides the cache folder (default ~/.cache/edgeattn/emulate)
CACHE_ENV = "EDGEATTN_EMULATE_CACHE"


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "edgeattn" / "emulate"
    return root.resolve()
